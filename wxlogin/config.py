"""Configuration: read from the environment (names from docs/API.md), then checked for the
mode.

Three modes: *testing* (``TESTING`` in the config passed to ``create_app``), *development*
(``flask run --debug``, i.e. ``app.debug``) and *production* (everything else). Development
and testing may run with nothing configured; production refuses to start without real
secrets, with a message naming the missing variable.
"""

import logging
import os
import re
from datetime import timedelta
from pathlib import Path

from limits import parse as parse_limit

from .security import keys

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
        # Per process: a gevent worker's requests queue for these (database.pool).
        "DATABASE_POOL_SIZE": _number(environ, "DATABASE_POOL_SIZE", 10, int),
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
        "JWT_PREVIOUS_PUBLIC_KEYS": environ.get("JWT_PREVIOUS_PUBLIC_KEYS", ""),
        "INTROSPECTION_CLIENTS": parse_pairs(environ, "INTROSPECTION_CLIENTS", "client1:secret1,client2:secret2"),
        "INTROSPECTION_RATE_LIMIT": _rate_limit(environ, "INTROSPECTION_RATE_LIMIT", "6000/minute"),
        "PUBLIC_URL": environ.get("PUBLIC_URL", "").strip().rstrip("/") or None,
        "QR_LOGIN_PAGE": _page(environ, "QR_LOGIN_PAGE", "pages/qr-login/index"),
        "QR_LOGIN_TTL": _number(environ, "QR_LOGIN_TTL", 120, int),
        "QR_LOGIN_RATE_LIMIT": _rate_limit(environ, "QR_LOGIN_RATE_LIMIT", "60/minute"),
        "QR_LOGIN_ENV_VERSION": _choice(environ, "QR_LOGIN_ENV_VERSION", ("release", "trial", "develop")),
        "CORS_ORIGINS": _origins(environ, "CORS_ORIGINS"),
    }
    if environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(environ["DATABASE_URL"])
    if environ.get("JWT_SECRET_KEY"):
        config["JWT_SECRET_KEY"] = environ["JWT_SECRET_KEY"]
    if environ.get("JWT_PRIVATE_KEY"):
        config["JWT_PRIVATE_KEY"] = environ["JWT_PRIVATE_KEY"]
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
    apps.update(parse_pairs(environ, "WX_APPS", "appid1:secret1,appid2:secret2"))
    return apps


def parse_pairs(environ, name, example):
    """``{id: secret}`` from a variable of comma-separated ``id:secret`` pairs."""
    pairs = {}
    for entry in filter(None, (e.strip() for e in environ.get(name, "").split(","))):
        key, sep, secret = entry.partition(":")
        if not (sep and key.strip() and secret.strip()):
            raise ConfigError(f"{name} must look like '{example}'.")
        pairs[key.strip()] = secret.strip()
    return pairs


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
    _signing_keys(config, development, app.instance_path)


def _signing_keys(config, development, instance_path):
    """ES256 with JWT_PRIVATE_KEY, else HS256 with JWT_SECRET_KEY; in development with
    neither, ES256 with a key kept in the instance folder. Keys are checked here, so that
    a bad one stops the start with its variable named."""
    private, secret = config.get("JWT_PRIVATE_KEY"), config.get("JWT_SECRET_KEY")
    if not private and not secret:
        if not development:
            raise ConfigError(
                "JWT_PRIVATE_KEY (ES256) or JWT_SECRET_KEY (HS256) is not set: production needs "
                "a signing key (flask --app wxlogin keys generate makes an ES256 one)."
            )
        path = Path(instance_path, "dev-jwt-key.pem")
        path.parent.mkdir(parents=True, exist_ok=True)
        private = keys.development_key(path)
        log.warning(
            "JWT_PRIVATE_KEY is not set: signing tokens with a development key from %s. "
            "NEVER run like this in production.", path,
        )
    if private:
        try:
            config["JWT_PRIVATE_KEY"] = keys.private_pem(keys.load_private_key(private))
        except keys.BadKey as error:
            raise ConfigError(f"JWT_PRIVATE_KEY {error}.") from None
        config["JWT_PRIVATE_KEY_AS_GIVEN"] = private  # for redaction, however it was written
        if not development and not config.get("SESSION_KEY_ENCRYPTION_KEYS"):
            # Keys derived from the private key would die with it at the first rotation
            # (no former private key is kept), and every stored session key with them.
            raise ConfigError(
                "SESSION_KEY_ENCRYPTION_KEYS is not set: with JWT_PRIVATE_KEY, production needs "
                "its own keys for the stored session keys, so that rotating the signing key keeps them."
            )
    elif len(secret.encode()) < MIN_JWT_KEY_LENGTH and not development:
        raise ConfigError(
            f"JWT_SECRET_KEY is too short: use at least {MIN_JWT_KEY_LENGTH} random bytes "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    previous = config.get("JWT_PREVIOUS_PUBLIC_KEYS") or ""
    if not isinstance(previous, str):  # a list, from a caller's overrides
        previous = "\n".join(previous)
    try:
        config["JWT_PREVIOUS_PUBLIC_KEYS"] = [keys.public_pem(key) for key in keys.load_public_keys(previous)]
    except keys.BadKey as error:
        raise ConfigError(f"JWT_PREVIOUS_PUBLIC_KEYS {error}.") from None


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


def _choice(environ, name, choices):
    """One of ``choices`` (the first by default)."""
    value = (environ.get(name) or choices[0]).strip()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


PAGE = re.compile(r"[0-9A-Za-z_\-.]+(?:/[0-9A-Za-z_\-.]+)*")


def _page(environ, name, default):
    """A mini program page as WeChat takes it: a path, no leading ``/``, no query."""
    page = environ.get(name, "").strip().lstrip("/") or default
    if not PAGE.fullmatch(page):
        raise ConfigError(f"{name} must be a page path such as 'pages/qr-login/index' (no query), not {page!r}.")
    return page


ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _origins(environ, name):
    """Exact web origins (``https://admin.example.com``): Flask-Cors would take an entry
    holding ``*`` or other regex characters as a pattern matching far more than meant."""
    origins = _list(environ, name)
    for origin in origins:
        if not ORIGIN.fullmatch(origin):
            raise ConfigError(f"{name} takes exact origins such as 'https://admin.example.com', not {origin!r}.")
    return origins


def _list(environ, name):
    return [item.strip() for item in environ.get(name, "").split(",") if item.strip()]
