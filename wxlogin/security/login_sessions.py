"""Login sessions: the tokens one login issues, their rotation, and their revocation.

A login starts a session (``sid``) with an access and a refresh token. ``/wx/refresh``
spends the refresh token (revoked at once) for a new pair in the same session; a spent
refresh token shown again means it was copied, so the whole session is revoked.
``/wx/logout`` revokes the session; ``?all=true`` bumps the user's token generation, which
every token carries, so that all their sessions end at once.
"""

import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..models import User, utcnow
from .token_store import jti_key, sid_key, token_store
from .user_versions import changed


def issue_tokens(user, sid=None, via=None):
    """An access and a refresh token of session ``sid`` (a new session when None). ``via``:
    how a session not made by ``/wx/login`` was made (``qr``: a web login), kept by its
    refreshed tokens."""
    claims = {"sid": sid or uuid.uuid4().hex, "gen": user.token_generation, "aud": user.appid}
    if via is not None:
        claims["via"] = via
    identity = str(user.id)
    return {
        "access_token": create_access_token(identity=identity, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=identity, additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
        "user": user,
    }


def rotate(user, claims):
    """Spend the refresh token of ``claims`` for a new pair in the same session.

    Revoking the spent token is the atomic step: of two requests racing with one refresh
    token, one wins and the other is treated as theft (clients refresh one at a time).
    """
    first = token_store().revoke(jti_key(claims), _outlives(claims["exp"]))
    if not first:  # the spent token came back: someone copied it
        revoke_session(claims)
        raise ApiError(messages.TOKEN_REVOKED)
    return issue_tokens(user, sid=claims["sid"], via=claims.get("via"))


def revoke_session(claims):
    """Revoke every token of the session of ``claims``, present and future rotations."""
    config = current_app.config
    longest = max(config["JWT_ACCESS_TOKEN_EXPIRES"], config["JWT_REFRESH_TOKEN_EXPIRES"])
    token_store().revoke(sid_key(claims), _outlives((utcnow() + longest).timestamp()))


def revoke_all_sessions(user_id):
    """Make every token issued to the user so far stale (one atomic increment)."""
    db.session.execute(
        sa.update(User)
        .where(User.id == user_id)
        .values(token_generation=User.token_generation + 1)
    )
    changed(user_id, critical=True)
    db.session.commit()


def _outlives(exp):
    """How long to remember a revocation of tokens expiring at ``exp``: as long as they
    could still be accepted (the decoder's clock-skew leeway), plus a margin."""
    leeway = current_app.config["JWT_DECODE_LEEWAY"] + 60
    return datetime.fromtimestamp(exp, timezone.utc) + timedelta(seconds=leeway)
