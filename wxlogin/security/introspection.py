"""Token introspection (RFC 7662) for the product's other services: is this token one the
data routes would accept right now?

It answers through the same checks as a protected request (``token_check``): the
signature and claims (each distinct token verified once per process), then the token
store's one round trip for revocation and the user's state. So a logout, a disabled or
deleted user and "log out everywhere" show as ``{"active": false}`` at once, at the cost
of a protected route. Nothing is changed by asking: a spent refresh token is inactive,
without the session revocation that presenting it to ``/wx/refresh`` triggers.
"""

import hashlib
import hmac

from flask import current_app, request
from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError

from .token_check import still_current, user_id_of, well_formed
from .token_store import token_store

INACTIVE = {"active": False}
TOKEN_TYPES = {"access": "access_token", "refresh": "refresh_token"}
_FIELDS = ("sub", "exp", "iat", "iss", "aud", "jti", "sid")


def calling_client():
    """The calling service's id when its HTTP Basic credentials are one of
    ``INTROSPECTION_CLIENTS``; None otherwise. Secrets are compared as digests in constant
    time, so neither their content nor their length shows in the answer's timing."""
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        return None
    expected = current_app.config["INTROSPECTION_CLIENTS"].get(auth.username)
    given = hashlib.sha256((auth.password or "").encode()).digest()
    wanted = hashlib.sha256((expected or "").encode()).digest()
    return auth.username if hmac.compare_digest(given, wanted) and expected is not None else None


def introspect(token):
    """RFC 7662's answer for ``token``: its claims while it would be accepted, else only
    ``{"active": false}`` (expired, forged, malformed, revoked, or of a user who is
    disabled, deleted or logged out everywhere)."""
    try:
        claims = decode_token(token)
    except (PyJWTError, JWTExtendedException, ValueError, TypeError):
        return INACTIVE
    user_id = user_id_of(claims)
    if not well_formed(claims) or user_id is None or claims.get("type") not in TOKEN_TYPES:
        return INACTIVE
    revoked, user = token_store().check(claims, user_id)
    if revoked or user is None or user.disabled or not still_current(claims, user):
        return INACTIVE
    return {"active": True, **{name: claims[name] for name in _FIELDS if name in claims},
            "token_type": TOKEN_TYPES[claims["type"]]}
