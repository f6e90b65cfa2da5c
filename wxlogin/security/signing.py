"""How our JWTs are signed and which keys verify them; flask-jwt-extended does the work.

Hardening: HS256 only; ``iss`` is this service and ``aud`` the token's mini program, both
checked; a little leeway for clock skew; a ``kid`` header naming the signing key, so that
keys in ``JWT_PREVIOUS_SECRET_KEYS`` still verify the tokens they signed.
"""

import hashlib

from flask import current_app

from ..config import set_defaults
from ..extensions import jwt

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


def key_id(key):
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def init_app(app):
    """Signing keys by id (the current one first) and the audiences this service accepts."""
    set_defaults(app, JWT_SETTINGS)
    keys = [app.config["JWT_SECRET_KEY"], *app.config.get("JWT_PREVIOUS_SECRET_KEYS", [])]
    app.extensions["jwt_keys"] = {key_id(key): key for key in keys}
    app.config["JWT_DECODE_AUDIENCE"] = list(app.config["WX_APPS"])
    jwt.init_app(app)


@jwt.additional_headers_loader
def _kid_header(_identity):
    return {"kid": key_id(current_app.config["JWT_SECRET_KEY"])}


@jwt.decode_key_loader
def _verification_key(header, _claims):
    """The key the token names; an unknown kid gets the current key (and fails with it)."""
    keys = current_app.extensions["jwt_keys"]
    return keys.get(str(header.get("kid")), current_app.config["JWT_SECRET_KEY"])
