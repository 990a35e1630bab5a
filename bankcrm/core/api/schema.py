"""OpenAPI descriptions of the project's authentication classes (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "bankcrm.core.api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "bcrm_<prefix>_<secret>",
                "description": "个人 API 令牌（个人设置页创建）/ personal API token"}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "bankcrm.core.api.authentication.GuardedSessionAuthentication"
    name = "sessionCookie"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "浏览器会话，写操作需 X-CSRFToken / browser session; unsafe methods need X-CSRFToken"}
