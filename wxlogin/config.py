"""Configuration: read from the environment (names from docs/API.md), then checked for the
mode.

Three modes: *testing* (``TESTING`` in the config passed to ``create_app``), *development*
(``flask run --debug``, i.e. ``app.debug``) and *production* (everything else). Development
and testing may run with nothing configured; production refuses to start without real
secrets, with a message naming the missing variable.
"""

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from limits import parse as parse_limit

log = logging.getLogger(__name__)

DEFAULT_WX_API_BASE = "https://api.weixin.qq.com"
# The mini program the built-in simulator plays when no real one is configured.
SIMULATOR_APPID = "wxsimulator0000000"
SIMULATOR_SECRET = "simulator-secret"
MIN_JWT_KEY_LENGTH = 32  # bytes of an HMAC-SHA256 key; PyJWT warns below this
MAX_BODY_BYTES = 64 * 1024


# Flask's own settings; each concern's ``init_app`` adds the defaults of its library.
FLASK_DEFAULTS = {
    "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
    "PROVIDE_AUTOMATIC_OPTIONS": False,  # OPTIONS would answer an empty text/html 200
}


class ConfigError(RuntimeError):
    """The environment cannot run the service; the message says which variable to set."""


def init_app(app, overrides=None):
    """Flask's defaults, then the environment, then ``overrides`` (e.g. from tests), then
    the mode's own defaults, or a refusal to start (``finalize``)."""
    app.config.from_mapping(FLASK_DEFAULTS)
    app.config.update(from_environ())
    app.config.update(overrides or {})
    finalize(app)


def set_defaults(app, settings):
    """A library's settings, where neither the environment nor the caller set them."""
    for name, value in settings.items():
        app.config.setdefault(name, value)


def from_environ(environ=os.environ):
    """Config keys read from environment variables; absent variables are left out."""
    config = {
        "WX_APPS": parse_apps(environ),
        "WX_API_BASE": environ.get("WX_API_BASE", DEFAULT_WX_API_BASE).rstrip("/"),
        "WX_TIMEOUT": _number(environ, "WX_TIMEOUT", 5.0, float),
        "DATABASE_TIMEOUT": _number(environ, "DATABASE_TIMEOUT", 5.0, float),
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(
            seconds=_number(environ, "JWT_ACCESS_TOKEN_EXPIRES", 7200, int)
        ),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(
            seconds=_number(environ, "JWT_REFRESH_TOKEN_EXPIRES", 2592000, int)
        ),
        "JWT_PREVIOUS_SECRET_KEYS": _list(environ, "JWT_PREVIOUS_SECRET_KEYS"),
        "SESSION_KEY_ENCRYPTION_KEYS": _list(environ, "SESSION_KEY_ENCRYPTION_KEYS"),
        "REDIS_URL": environ.get("REDIS_URL") or None,
        "LOGIN_RATE_LIMIT": _rate_limit(environ, "LOGIN_RATE_LIMIT", "600/minute"),
        "LOGIN_RATE_LIMIT_PER_USER": _rate_limit(environ, "LOGIN_RATE_LIMIT_PER_USER", "30/minute"),
        "TRUSTED_PROXY_COUNT": _number(environ, "TRUSTED_PROXY_COUNT", 0, int, allow_zero=True),
        "AUDIT_RETENTION_DAYS": _number(environ, "AUDIT_RETENTION_DAYS", 90, int),
    }
    if environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(environ["DATABASE_URL"])
    if environ.get("JWT_SECRET_KEY"):
        config["JWT_SECRET_KEY"] = environ["JWT_SECRET_KEY"]
    return config


def parse_apps(environ):
    """``{appid: secret}`` from ``WX_APPID``/``WX_SECRET`` and ``WX_APPS``, in that order.

    The first entry is the default app of a login that names none.
    """
    apps = {}
    appid, secret = environ.get("WX_APPID", "").strip(), environ.get("WX_SECRET", "").strip()
    if appid and not secret:
        raise ConfigError("WX_SECRET is not set, but WX_APPID is: set both, or neither.")
    if secret and not appid:
        raise ConfigError("WX_APPID is not set, but WX_SECRET is: set both, or neither.")
    if appid:
        apps[appid] = secret
    for entry in filter(None, (e.strip() for e in environ.get("WX_APPS", "").split(","))):
        appid, sep, secret = entry.partition(":")
        if not (sep and appid.strip() and secret.strip()):
            raise ConfigError("WX_APPS must look like 'appid1:secret1,appid2:secret2'.")
        apps[appid.strip()] = secret.strip()
    return apps


def normalize_database_url(url):
    """Pick the drivers we install for bare ``postgres://`` / ``mysql://`` URLs.

    MySQL connections get ``charset=utf8mb4`` so that nicknames with emoji round-trip.
    """
    for prefix, full in (
        ("postgres://", "postgresql+psycopg://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("mysql://", "mysql+pymysql://"),
        ("mariadb://", "mysql+pymysql://"),
    ):
        if url.startswith(prefix):
            url = full + url[len(prefix):]
    if url.startswith("mysql") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def finalize(app):
    """Fill in mode-dependent defaults, or refuse to start in production without secrets."""
    config = app.config
    development = app.debug or app.testing
    if "SQLALCHEMY_DATABASE_URI" not in config:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path, 'wxlogin.sqlite')}"
        config["DATABASE_IS_DEFAULT"] = True
    if not config["WX_APPS"]:
        if not development:
            raise ConfigError(
                "WX_APPID and WX_SECRET are not set: production needs the mini program's "
                "credentials (or WX_APPS for several)."
            )
        # No real mini program: the app serves its own WeChat simulator and calls it.
        config["WX_APPS"] = {SIMULATOR_APPID: SIMULATOR_SECRET}
        config["WX_SIMULATOR_EMBEDDED"] = True
    key = config.get("JWT_SECRET_KEY")
    if not key:
        if not development:
            raise ConfigError("JWT_SECRET_KEY is not set: production needs a signing key.")
        config["JWT_SECRET_KEY"] = _development_key(app.instance_path)
    elif len(key.encode()) < MIN_JWT_KEY_LENGTH and not development:
        raise ConfigError(
            f"JWT_SECRET_KEY is too short: use at least {MIN_JWT_KEY_LENGTH} random bytes "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )


def _development_key(instance_path):
    """A random key kept in the instance folder, so tokens survive the reloader's restarts."""
    path = Path(instance_path, "dev-jwt-secret")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # created readable by its owner only, from the first byte
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    log.warning(
        "JWT_SECRET_KEY is not set: signing tokens with a development key from %s. "
        "NEVER run like this in production.",
        path,
    )
    return path.read_text().strip()


def _number(environ, name, default, kind, allow_zero=False):
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}.") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be {'zero or more' if allow_zero else 'positive'}, not {raw!r}.")
    return value


def _rate_limit(environ, name, default):
    """A Flask-Limiter limit such as ``300/minute``, or ``off``; checked at start-up."""
    value = (environ.get(name) or default).strip()
    if value != "off":
        try:
            parse_limit(value)
        except ValueError:
            raise ConfigError(f"{name} must look like '300/minute' (or be 'off'), not {value!r}.") from None
    return value


def _list(environ, name):
    return [item.strip() for item in environ.get(name, "").split(",") if item.strip()]
