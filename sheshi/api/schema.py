"""OpenAPI descriptions of Sheshi's authentication classes (drf-spectacular extensions)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sheshi.access.services.tokens.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "shs_<prefix>_<secret>",
                "description": "Expiring, scoped API token (read / write)."}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "sheshi.api.authentication.ContextSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
