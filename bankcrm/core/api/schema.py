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


# ---- Error responses every operation can give (R11: responses conform to the schema) -------------------------------
ERROR_DESCRIPTIONS = {
    "400": "输入有误 / validation failed", "401": "未认证 / not authenticated", "403": "无权限 / forbidden",
    "404": "不存在或无权查看 / not found", "415": "不支持的内容类型 / unsupported media type",
}


def document_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation answers in the one error format when the caller is not
    signed in (401), lacks the capability (403) or asks for something absent or out of scope — an unknown id, a
    page past the end (404); operations with input also refuse it (400), and those with a body refuse other media
    types (415). Views that declare these already keep their own description."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", {
        "type": "object", "required": ["error", "request_id"],
        "properties": {"error": {"type": "object", "required": ["code", "message"],
                                 "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                                "fields": {"type": "object", "additionalProperties": {
                                                    "type": "array", "items": {"type": "string"}}}}},
                       "request_id": {"type": "string"}},
    })
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = ["401", "403", "404"]
            if op.get("parameters") or op.get("requestBody"):
                codes.append("400")
            if op.get("requestBody"):
                codes.append("415")
            responses = op.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"content": error, "description": ERROR_DESCRIPTIONS[code]})
    return result
