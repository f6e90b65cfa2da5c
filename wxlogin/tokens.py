"""Our JWTs: where they are read from, what they carry, and how their failures answer.

flask-jwt-extended does the signing and checking (HS256 only); its default 422 and
``{"msg": ...}`` answers are all replaced by API.md's 401 slugs.
"""

import uuid

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token

from .errors import error_response
from .extensions import db, jwt
from .models import MAX_ID, User

JWT_SETTINGS = {
    "JWT_TOKEN_LOCATION": ["headers"],
    "JWT_HEADER_NAME": "Authentication",
    "JWT_HEADER_TYPE": "",
    "JWT_ALGORITHM": "HS256",
    "JWT_DECODE_ALGORITHMS": ["HS256"],
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


def issue_tokens(user):
    """An access and a refresh token for one login session (``sid``, shared by both)."""
    claims = {"sid": uuid.uuid4().hex, "appid": user.appid}
    identity = str(user.id)
    return {
        "access_token": create_access_token(identity=identity, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=identity, additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
        "user": user,
    }


@jwt.user_lookup_loader
def _load_user(_header, claims):
    try:
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        return None
    return db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None


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
def _revoked(_header, _claims):
    return _unauthorized("token_revoked", "The token was revoked: log in again.")


@jwt.user_lookup_error_loader
def _user_gone(_header, _claims):
    return _unauthorized("token_invalid", "The token's user no longer exists: log in again.")


@jwt.token_verification_failed_loader
@jwt.needs_fresh_token_loader
def _not_accepted(_header, _claims):
    return _invalid(None)
