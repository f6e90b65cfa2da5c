"""How our JWTs are signed and which keys verify them; flask-jwt-extended does the work.

ES256 when ``JWT_PRIVATE_KEY`` is set (and in development with nothing configured): other
services verify tokens with the public keys of ``/.well-known/jwks.json`` and hold no
secret. HS256 with ``JWT_SECRET_KEY`` otherwise, for deployments made before ES256.

Hardening: one algorithm accepted, the configured one, so a token signed any other way
(``none``, HS256 with the public key as its secret) is forged; ``iss`` is this service and
``aud`` the token's mini program, both checked; a little leeway for clock skew; a ``kid``
header naming the signing key (ES256: its RFC 7638 thumbprint), so that the keys of
``JWT_PREVIOUS_PUBLIC_KEYS`` / ``JWT_PREVIOUS_SECRET_KEYS`` still verify the tokens they
signed. A token naming no key we hold is refused, never tried with another key.
"""

import hashlib

from cryptography.hazmat.primitives import serialization
from flask import current_app
from jwt.exceptions import InvalidSignatureError

from ..config import set_defaults
from ..extensions import jwt
from . import keys

ISSUER = "wxlogin"
JWT_SETTINGS = {
    "JWT_TOKEN_LOCATION": ["headers"],
    "JWT_HEADER_NAME": "Authentication",
    "JWT_HEADER_TYPE": "",
    "JWT_ENCODE_ISSUER": ISSUER,
    "JWT_DECODE_ISSUER": ISSUER,
    "JWT_DECODE_LEEWAY": 30,  # seconds of clock skew between hosts
    "JWT_COOKIE_CSRF_PROTECT": False,  # no cookies here: keeps a "csrf" claim out of tokens
}


def secret_key_id(secret):
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def es256(config):
    return bool(config.get("JWT_PRIVATE_KEY"))


def init_app(app):
    """The algorithm, the verification keys by id (the current one first), the public
    keys to publish, and the audiences this service accepts."""
    set_defaults(app, JWT_SETTINGS)
    config = app.config
    if es256(config):
        private = keys.load_private_key(config["JWT_PRIVATE_KEY"])
        public = [private.public_key(), *(serialization.load_pem_public_key(pem.encode())
                                          for pem in config["JWT_PREVIOUS_PUBLIC_KEYS"])]
        config["JWT_ALGORITHM"] = "ES256"
        app.extensions["jwt_signing_key"] = private
        by_id = {keys.key_id(key): key for key in public}  # a key listed twice is one key
        app.extensions["jwks"] = [keys.public_jwk(key) for key in by_id.values()]
    else:
        config["JWT_ALGORITHM"] = "HS256"
        app.extensions["jwt_signing_key"] = config["JWT_SECRET_KEY"]
        by_id = {secret_key_id(s): s for s in (config["JWT_SECRET_KEY"], *config["JWT_PREVIOUS_SECRET_KEYS"])}
        app.extensions["jwks"] = []  # a symmetric key is never published
    config["JWT_DECODE_ALGORITHMS"] = [config["JWT_ALGORITHM"]]
    app.extensions["jwt_keys"] = by_id
    app.extensions["jwt_kid"] = next(iter(by_id))
    config["JWT_DECODE_AUDIENCE"] = list(config["WX_APPS"])
    jwt.init_app(app)


@jwt.additional_headers_loader
def _kid_header(_identity):
    return {"kid": current_app.extensions["jwt_kid"]}


@jwt.encode_key_loader
def _signing_key(_identity):
    """The key parsed once at start-up: flask-jwt-extended's default hands PyJWT the PEM
    text, which it parses again on every signature (a third of an ES256 sign)."""
    return current_app.extensions["jwt_signing_key"]


@jwt.decode_key_loader
def _verification_key(header, _claims):
    """The key the token names."""
    key = current_app.extensions["jwt_keys"].get(str(header.get("kid")))
    if key is None:  # refused as a bad signature: 401 token_invalid, like any forgery
        raise InvalidSignatureError("no key of this service has that kid")
    return key
