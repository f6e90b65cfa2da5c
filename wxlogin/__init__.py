"""wxlogin: the login backend of a WeChat Mini Program.

``flask --app wxlogin run --debug`` serves it with nothing configured (SQLite in the
instance folder, the built-in WeChat simulator); ``gunicorn wsgi:app`` in production.
"""

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as settings
from .security import redaction
from .security import ratelimit, tokens
from .ops import request_log
from .cli import register_commands
from .security.crypto import SessionKeyCipher
from .database import engine as database
from .database.engine import engine_options
from .errors import register_errorhandlers
from .extensions import api, db, jwt, limiter, migrate
from .ops.method_override import MethodOverrideMiddleware
from .security.redis_trust import RedisTrust
from .security.revocation import DatabaseRevocations, RedisRevocations
from .security.user_cache import UserCache
from .wechat.simulator.core import Simulator, SimulatorAdapter, init_simulator
from .wechat.client import WeChatClient

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# Short: a hung Redis must not hang requests (checks fall back to the database).
REDIS_TIMEOUTS = {"socket_timeout": 1, "socket_connect_timeout": 1}

DEFAULTS = {
    "MAX_CONTENT_LENGTH": settings.MAX_BODY_BYTES,
    "PROVIDE_AUTOMATIC_OPTIONS": False,  # OPTIONS would answer an empty text/html 200
    "API_TITLE": "wxlogin",
    "API_VERSION": "1.0",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
    "RATELIMIT_KEY_PREFIX": "wxlogin",
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,  # Redis down: per-process counters meanwhile
    # A frozen Redis must not hold logins: the limiter's own client gets the same bounds.
    "RATELIMIT_STORAGE_OPTIONS": REDIS_TIMEOUTS,
    **tokens.JWT_SETTINGS,
}


def create_app(config=None, instance_path=None):
    """Build the app from the environment, then ``config`` (a mapping, e.g. from tests)."""
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    # "//wx//me" is a 404 like any unknown path: merging slashes answers it with an HTML
    # redirect built from the Host header, which error handlers never see.
    app.url_map.merge_slashes = False
    app.config.from_mapping(DEFAULTS)
    app.config.update(settings.from_environ())
    app.config.update(config or {})
    settings.finalize(app)
    redaction.install()
    redaction.add_secrets(
        *app.config["WX_APPS"].values(),
        app.config["JWT_SECRET_KEY"],
        *app.config["JWT_PREVIOUS_SECRET_KEYS"],
        *app.config["SESSION_KEY_ENCRYPTION_KEYS"],
    )
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    ratelimit.register(app)
    request_log.register(app)
    register_commands(app)
    app.wsgi_app = tokens.TokenHeaderMiddleware(app.wsgi_app)
    app.wsgi_app = MethodOverrideMiddleware(app.wsgi_app)
    if app.config["TRUSTED_PROXY_COUNT"]:
        # X-Forwarded-For/-Proto are believed only from this many proxies in front of us.
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
    if app.config.get("DATABASE_IS_DEFAULT") and app.debug and not app.testing:
        upgrade_database(app)
    return app


def register_extensions(app):
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS",
        engine_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config["DATABASE_TIMEOUT"]),
    )
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    db.init_app(app)
    database.init_app(app)  # after db: see there
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    tokens.configure(app)
    jwt.init_app(app)
    limiter.init_app(app)
    redis_client = connect_redis(app.config["REDIS_URL"])
    app.extensions["revocations"] = DatabaseRevocations()
    app.extensions["user_cache"] = None
    if redis_client:
        cache = UserCache(redis_client)
        # Snapshots read while Redis was believed under another marker may be stale.
        cache.trust = RedisTrust(redis_client, on_new_marker=cache.clear)
        app.extensions["revocations"] = RedisRevocations(redis_client, cache.trust)
        app.extensions["user_cache"] = cache
    app.extensions["redis"] = redis_client
    app.extensions["session_key_cipher"] = SessionKeyCipher.from_config(app.config)
    api.init_app(app)
    api.spec.components.security_scheme(
        "Authentication", {"type": "apiKey", "in": "header", "name": "Authentication"}
    )
    api.spec.components.security_scheme(
        "Bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    wechat = {"base_url": app.config["WX_API_BASE"]}
    if app.config.get("WX_SIMULATOR_EMBEDDED"):
        logging.getLogger(__name__).warning(
            "WX_APPID is not set: logging in through the built-in WeChat simulator, also "
            "served at /_simulator (codes like sim:alice). Development only."
        )
        simulator = Simulator(app.config["WX_APPS"], timeout_sleep=app.config["WX_TIMEOUT"] + 1)
        init_simulator(app, simulator, url_prefix="/_simulator")
        wechat = {"base_url": "http://simulator.wxlogin.invalid", "adapter": SimulatorAdapter(simulator)}
    app.extensions["wechat"] = WeChatClient(
        app.config["WX_APPS"], timeout=app.config["WX_TIMEOUT"], **wechat
    )


def connect_redis(redis_url):
    """The shared Redis client when REDIS_URL is set (revocations, user versions)."""
    if not redis_url:
        return None
    try:
        import redis
    except ImportError:
        raise settings.ConfigError("REDIS_URL is set but redis is not installed: pip install '.[redis]'") from None
    return redis.Redis.from_url(redis_url, **REDIS_TIMEOUTS)


def register_blueprints(app):
    from .api import auth, data, health, platform as wxplatform

    for module in (auth, data, health, wxplatform):
        api.register_blueprint(module.blp)


def upgrade_database(app):
    """Development convenience: bring the instance folder's SQLite file to the latest
    migration at start-up. A configured DATABASE_URL is never migrated implicitly:
    ``flask db upgrade`` is a deploy step.
    """
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
