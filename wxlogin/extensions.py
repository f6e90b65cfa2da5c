"""The extension instances, bare: each concern's ``init_app`` binds its own to the app
(cookiecutter-flask style)."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy

from .database.base import Base
from .database.lazy_migrate import Migrate
from .overrides import CachingJWTManager, OwnErrorsApi

# Rows stay readable after a commit (a request reads what it just wrote, e.g. the user it
# logged in) without a reload query per object; each request has its own session.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
jwt = CachingJWTManager()
api = OwnErrorsApi()
limiter = Limiter(key_func=get_remote_address)
babel = Babel()
