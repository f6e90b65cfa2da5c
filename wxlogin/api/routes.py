"""The HTTP API's blueprints, one per resource, registered with the OpenAPI document."""

from ..config import set_defaults
from ..extensions import api
from . import account, auth, data, docs, health, oauth, platform, qr_login, wellknown
from .schemas import ErrorSchema

SETTINGS = {
    "API_TITLE": "wxlogin",
    "API_VERSION": "1.0",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": docs.ASSETS_URL,  # packaged, not from a CDN
}
BLUEPRINTS = (auth.blp, qr_login.blp, data.blp, account.blp, health.blp, platform.blp, wellknown.blp, oauth.blp)


def init_app(app):
    set_defaults(app, SETTINGS)
    api.ERROR_SCHEMA = ErrorSchema  # documented as the body of every error response
    api.init_app(app)
    api.spec.components.security_scheme(
        "Authentication", {"type": "apiKey", "in": "header", "name": "Authentication"}
    )
    api.spec.components.security_scheme(
        "Bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    api.spec.components.security_scheme("IntrospectionClient", {"type": "http", "scheme": "basic"})
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)  # Swagger UI's files: not operations of the API
