"""What the mini program does with a code it was opened by: scan it, then confirm or deny.

Each step is one conditional UPDATE (from the state it needs, by the user it needs, before
the code expires), so that of two users racing for one code exactly one gets it. A step
refused by the UPDATE reads the code again to say why: docs/API.md's 404/409/410.
"""

import math

import sqlalchemy as sa
from flask_jwt_extended import get_jwt

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..models import QrLogin, utcnow
from . import CONFIRMED, DENIED, PENDING, QR, SCANNED, USED, wakeups
from .codes import by_scene


def from_the_mini_program():
    """Only a mini program's session acts on a code: a web session's token (``via`` qr) is
    refused, so that a web session, or a token copied out of a web page, never makes
    another web session."""
    if get_jwt().get("via") == QR:
        raise ApiError(messages.QR_WEB_SESSION)


def scan(scene, user):
    """The user opened the code: it is theirs to decide. Who asked is shown to them first,
    so that they can tell a login of their own from someone else's (QR login hijacking:
    an attacker shows a victim the attacker's own code). Scanning again changes nothing."""
    from_the_mini_program()
    code = by_scene(scene, user.appid)
    now = utcnow()
    if not _already_scanned_by(code, user, now):
        if not _move(code, user, PENDING, SCANNED, now, scanned_at=now):
            code = by_scene(scene, user.appid)
            if not _already_scanned_by(code, user, now):  # not a race with their own scan
                raise ApiError(_refusal(code, user, now))
    return {
        "status": SCANNED,
        "requester": {"ip": code.requester_ip, "user_agent": code.requester_agent,
                      "created_at": code.created_at},
        "expires_in": max(0, math.floor((code.expires_at - now).total_seconds())),
    }


def confirm(scene, user):
    """The user who scanned the code lets the browser log in as them."""
    return _decide(scene, user, CONFIRMED)


def deny(scene, user):
    return _decide(scene, user, DENIED)


def _decide(scene, user, outcome):
    from_the_mini_program()
    code = by_scene(scene, user.appid)
    now = utcnow()
    if not _move(code, user, SCANNED, outcome, now, decided_at=now):
        raise ApiError(_refusal(by_scene(scene, user.appid), user, now))
    return {"status": outcome}


def _already_scanned_by(code, user, now):
    return code.status == SCANNED and code.user_id == user.id and code.expires_at > now


def _move(code, user, before, after, now, **values):
    """``before`` -> ``after`` if the code is still in ``before`` and unexpired (and, once
    scanned, this user's); True if it moved. Committed, and the waiting polls woken."""
    condition = [QrLogin.id == code.id, QrLogin.status == before, QrLogin.expires_at > now]
    if before == SCANNED:
        condition.append(QrLogin.user_id == user.id)
    moved = db.session.execute(
        sa.update(QrLogin).where(*condition)
        .values(status=after, version=QrLogin.version + 1, user_id=user.id, **values)
    ).rowcount
    db.session.commit()
    if moved:
        wakeups.changed(code.id)
    return moved == 1


def _refusal(code, user, now):
    """Why a step was refused, from the code as it is now."""
    if code.status in (CONFIRMED, DENIED, USED):
        return messages.QR_USED
    if code.expires_at <= now:
        return messages.QR_EXPIRED
    if code.status == SCANNED and code.user_id != user.id:
        return messages.QR_USED  # another user scanned it first
    return messages.QR_NOT_SCANNED  # confirm or deny before a scan
