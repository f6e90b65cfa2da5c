"""The extension instances, bare: ``create_app`` binds them to an app (cookiecutter-flask style)."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from .security.jwt_manager import CachingJWTManager
from .api.schemas import ErrorSchema


class Base(DeclarativeBase):
    def update_from(self, changes):
        """Set the given attributes; callers pass only what a schema validated."""
        for field, value in changes.items():
            setattr(self, field, value)


class WxApi(Api):
    """flask-smorest's Api documenting our own error body instead of its default one."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Errors are rendered by ``wxlogin.errors``; smorest must not register its own."""


# Rows stay readable after a commit (a request reads what it just wrote, e.g. the user it
# logged in) without a reload query per object; each request has its own session.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
jwt = CachingJWTManager()
api = WxApi()
limiter = Limiter(key_func=get_remote_address)
