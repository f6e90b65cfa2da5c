"""The token check of every protected request, from the header to the user, in one place.

1. ``TokenHeaderMiddleware`` takes the token from any of docs/API.md's three headers.
2. ``Blueprint.token_required`` (``api/blueprint.py``) runs flask-jwt-extended's
   ``jwt_required``, which verifies the signature and the claims (``signing``; each distinct
   token once per process: ``verified_tokens``).
3. ``_revoked`` asks the token store (``token_store``: the database, or Redis in front of
   it) whether the token or its login session was revoked, and for a snapshot of its user,
   in one round trip.
4. ``_load_user`` refuses a disabled user or a token older than "log out everywhere", and
   hands the snapshot on as ``current_user``.

Every refusal is one of docs/API.md's slugs (the library's default is 422 and
``{"msg": ...}``).
"""

from flask import current_app, g

from .. import messages
from ..errors import ApiError, error_response
from ..extensions import jwt
from ..models import MAX_ID
from .login_sessions import revoke_session
from .redis_store import RedisTokenStore
from .redis_trust import wait_for_hosts
from .token_store import DatabaseTokenStore, token_store


class TokenHeaderMiddleware:
    """Accepts docs/API.md's three token headers, rewritten into the one the library reads.

    In order of preference: ``Authentication: <jwt>``, ``Authentication: Bearer <jwt>``,
    ``Authorization: Bearer <jwt>``.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        token = _strip_bearer(environ.get("HTTP_AUTHENTICATION", ""))
        if not token:
            authorization = environ.get("HTTP_AUTHORIZATION", "").strip()
            if authorization[:7].lower() == "bearer ":
                token = authorization[7:].strip()
        if token:
            environ["HTTP_AUTHENTICATION"] = token
        return self.wsgi_app(environ, start_response)


def _strip_bearer(value):
    value = value.strip()
    return value[7:].strip() if value[:7].lower() == "bearer " else value


@jwt.token_in_blocklist_loader
def _revoked(_header, claims):
    """Revocation and the user's state, looked up together: one round trip per request."""
    _require_claims(claims)
    user_id = user_id_of(claims)
    if user_id is None:  # a subject we never issue (a user that is gone is token_revoked)
        raise ApiError(messages.TOKEN_INVALID)
    revoked, g.token_user = token_store().check(claims, user_id)
    return revoked


def _require_claims(claims):
    if not well_formed(claims):
        raise ApiError(messages.TOKEN_INVALID)


def well_formed(claims):
    """Only our key signs tokens, but a token must still carry everything the checks read."""
    return (
        type(claims.get("exp")) is int  # a token that never expires is not one we issue
        and _is_text(claims.get("jti"))
        and _is_text(claims.get("sid"))
        and type(claims.get("gen")) is int
        and _is_text(claims.get("aud"))
    )


def _is_text(value):
    return isinstance(value, str) and 0 < len(value) <= 48


def user_id_of(claims):
    try:
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        return None
    return user_id if 0 < user_id <= MAX_ID else None


@jwt.user_lookup_loader
def _load_user(_header, claims):
    """The token's user, refused when disabled or when the token predates "log out all"."""
    user = g.pop("token_user", None)
    g.user_id = user.id if user is not None else None  # for the request log line
    if user is not None and user.disabled:
        raise ApiError(messages.USER_DISABLED)
    if user is not None and not still_current(claims, user):
        raise ApiError(messages.TOKEN_REVOKED)
    return user


def still_current(claims, user):
    """False for a token issued before the user's last "log out everywhere", or before
    this account existed: ids are never given twice, but a restored backup or an old
    MariaDB (before 10.2.4) could, and a deleted account's tokens must not name the next."""
    # iat is in whole seconds; the leeway allows for the clocks of the hosts.
    created = int(user.created_at.timestamp()) - current_app.config["JWT_DECODE_LEEWAY"]
    return claims["gen"] == user.token_generation and claims.get("iat", 0) >= created


@jwt.unauthorized_loader
def _missing(_reason):
    return error_response(messages.TOKEN_MISSING)


@jwt.invalid_token_loader
def _invalid(_reason):
    return error_response(messages.TOKEN_INVALID)


@jwt.expired_token_loader
def _expired(_header, _claims):
    return error_response(messages.TOKEN_EXPIRED)


@jwt.revoked_token_loader
def _refuse_revoked(_header, claims):
    if claims.get("type") == "refresh":
        # A refresh token is revoked once spent: seeing it again means someone copied it.
        revoke_session(claims)
    return error_response(messages.TOKEN_REVOKED)


@jwt.user_lookup_error_loader
def _user_gone(_header, _claims):
    return error_response(messages.TOKEN_USER_GONE)


@jwt.token_verification_failed_loader
@jwt.needs_fresh_token_loader
def _not_accepted(_header, _claims):
    return error_response(messages.TOKEN_INVALID)


def init_app(app):
    """The header middleware, and the token store, chosen once for the app's life: Redis in
    front of the database when ``REDIS_URL`` is set, else the database alone."""
    redis_client = app.extensions["redis"]
    app.extensions["token_store"] = RedisTokenStore(redis_client) if redis_client else DatabaseTokenStore()
    # Last of all the teardowns (they run last-registered first), after the session gave
    # its connection back; before the answer is sent (Flask tears down, then the server writes).
    app.teardown_appcontext_funcs.insert(0, wait_for_hosts)
    app.wsgi_app = TokenHeaderMiddleware(app.wsgi_app)
