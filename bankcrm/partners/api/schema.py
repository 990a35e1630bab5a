"""OpenAPI description of the partner key scheme (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "bankcrm.partners.partner_auth.PartnerKeyAuthentication"
    name = "partnerKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "bkp_<key id>_<secret>",
                "description": "合作机构 API 密钥（由本行管理员签发，仅用于 /api/v1/partner/）/ partner API key"}
