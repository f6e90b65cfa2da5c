"""Reading and checking our JWTs; flask-jwt-extended signs and verifies them.

Hardening: HS256 only; ``iss`` is this service and ``aud`` the token's mini program, both
checked; a little leeway for clock skew; a ``kid`` header naming the signing key, so that
keys in ``JWT_PREVIOUS_SECRET_KEYS`` still verify the tokens they signed. Every refusal is
one of API.md's slugs (the library's default is 422 and ``{"msg": ...}``).
"""

import hashlib

from flask import current_app, g

from ..errors import ApiError, error_response
from ..extensions import jwt
from ..models import MAX_ID
from .login_sessions import check_token, revoke_session

ISSUER = "wxlogin"
JWT_SETTINGS = {
    "JWT_TOKEN_LOCATION": ["headers"],
    "JWT_HEADER_NAME": "Authentication",
    "JWT_HEADER_TYPE": "",
    "JWT_ALGORITHM": "HS256",
    "JWT_DECODE_ALGORITHMS": ["HS256"],
    "JWT_ENCODE_ISSUER": ISSUER,
    "JWT_DECODE_ISSUER": ISSUER,
    "JWT_DECODE_LEEWAY": 30,  # seconds of clock skew between hosts
    "JWT_COOKIE_CSRF_PROTECT": False,  # no cookies here: keeps a "csrf" claim out of tokens
}


class TokenHeaderMiddleware:
    """Accepts API.md's three token headers by rewriting them into the one the library reads.

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


def key_id(key):
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def configure(app):
    """Signing keys by id (the current one first) and the audiences this service accepts."""
    keys = [app.config["JWT_SECRET_KEY"], *app.config.get("JWT_PREVIOUS_SECRET_KEYS", [])]
    app.extensions["jwt_keys"] = {key_id(key): key for key in keys}
    app.config["JWT_DECODE_AUDIENCE"] = list(app.config["WX_APPS"])


@jwt.additional_headers_loader
def _kid_header(_identity):
    return {"kid": key_id(current_app.config["JWT_SECRET_KEY"])}


@jwt.decode_key_loader
def _verification_key(header, _claims):
    """The key the token names; an unknown kid gets the current key (and fails with it)."""
    keys = current_app.extensions["jwt_keys"]
    return keys.get(str(header.get("kid")), current_app.config["JWT_SECRET_KEY"])


@jwt.token_in_blocklist_loader
def _revoked(_header, claims):
    """Revocation and the user's state, looked up together: one round trip per request."""
    _require_claims(claims)
    user_id = _user_id(claims)
    if user_id is None:
        g.token_user = None
        return False
    revoked, g.token_user = check_token(claims, user_id)
    return revoked


def _require_claims(claims):
    """Only our key signs tokens, but a token must still carry everything the checks read."""
    well_formed = (
        _is_text(claims.get("jti"))
        and _is_text(claims.get("sid"))
        and type(claims.get("gen")) is int
        and _is_text(claims.get("aud"))
    )
    if not well_formed:
        raise ApiError(401, "token_invalid", "The token is not valid here: log in again.")


def _is_text(value):
    return isinstance(value, str) and 0 < len(value) <= 48


def _user_id(claims):
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
        raise ApiError(403, "user_disabled", "This account was disabled by an operator.")
    if user is not None and claims["gen"] != user.token_generation:
        raise ApiError(401, "token_revoked", "The token was revoked: log in again.")
    return user


def _unauthorized(slug, message):
    return error_response(401, slug, message)


@jwt.unauthorized_loader
def _missing(_reason):
    return _unauthorized("token_missing", "Send your access token in the Authentication header.")


@jwt.invalid_token_loader
def _invalid(_reason):
    return _unauthorized("token_invalid", "The token is not valid here: log in again.")


@jwt.expired_token_loader
def _expired(_header, _claims):
    return _unauthorized("token_expired", "The token has expired: refresh it or log in again.")


@jwt.revoked_token_loader
def _refuse_revoked(_header, claims):
    if claims.get("type") == "refresh":
        # A refresh token is revoked once spent: seeing it again means someone copied it.
        revoke_session(claims)
    return _unauthorized("token_revoked", "The token was revoked: log in again.")


@jwt.user_lookup_error_loader
def _user_gone(_header, _claims):
    return _unauthorized("token_invalid", "The token's user no longer exists: log in again.")


@jwt.token_verification_failed_loader
@jwt.needs_fresh_token_loader
def _not_accepted(_header, _claims):
    return _invalid(None)
