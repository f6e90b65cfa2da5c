"""The browser's side after the code is shown: its long poll, and the handing over of the
tokens of a confirmed code, once.

A poll answers as soon as the status differs from the one last answered for its ticket (a
new code counts as seen "pending"), or is final; otherwise it waits up to ``wait`` seconds
for a change, holding no database connection meanwhile (``wakeups``). A browser polls one at
a time: a new poll of a ticket ends the one waiting before it (in this process), which
answers at once, so that a poll the browser gave up on cannot take the tokens from the next.
"""

import random
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from .. import messages
from ..accounts.audit import add_attempt
from ..accounts.profile import load_user
from ..errors import ApiError
from ..extensions import db
from ..models import QrLogin, utcnow
from ..ops import metrics
from ..security.login_sessions import issue_tokens
from . import CONFIRMED, EXPIRED, FINAL, PENDING, QR, SCANNED, USED, wakeups
from .codes import by_ticket

EXPIRY_MARGIN = 0.05  # seconds: wake just after the expiry, not just before it


def poll(ticket, wait):
    """``{"status": ...}`` of the ticket's code, within ``wait`` seconds of a change."""
    # Up to a tenth of the wait (at most 1 s) earlier: polls opened together (a page
    # loaded by many at once) do not all come back at the same instant.
    until = time.monotonic() + wait - random.uniform(0, min(1.0, wait / 10))
    while True:
        code = by_ticket(ticket)
        now = utcnow()
        status = effective_status(code, now)
        if status == CONFIRMED:
            return _hand_over(code)
        if status in FINAL or status != code.reported:
            _remember_reported(code, status)
            return {"status": status}
        left = min(until - time.monotonic(), (code.expires_at - now).total_seconds() + EXPIRY_MARGIN)
        if left <= 0:
            return {"status": status}
        db.session.commit()  # the connection goes back to the pool while this poll waits
        ended = wakeups.wait(code.id, code.version, left)
        if ended == wakeups.GIVE_WAY:
            return {"status": status}  # a newer poll of this ticket took over: only it goes on
        if ended == wakeups.TIMED_OUT and time.monotonic() >= until:
            # Nothing changed (the watchers would have woken it): no need to read it again.
            return {"status": status}


def effective_status(code, now):
    """The status as the browser sees it: a code not yet decided expires after
    QR_LOGIN_TTL, and a confirmed one not collected within QR_LOGIN_TTL of its confirmation."""
    if code.status in (PENDING, SCANNED) and code.expires_at <= now:
        return EXPIRED
    ttl = timedelta(seconds=current_app.config["QR_LOGIN_TTL"])
    if code.status == CONFIRMED and code.decided_at + ttl <= now:
        return EXPIRED
    return code.status


def _remember_reported(code, status):
    if status != code.reported and status not in FINAL:
        db.session.execute(sa.update(QrLogin).where(QrLogin.id == code.id).values(reported=status))
        db.session.commit()


def _hand_over(code):
    """The tokens of a new login session of the user who confirmed, to the first poll to
    turn "confirmed" into "used"; any other poll is told "used"."""
    taken = db.session.execute(
        sa.update(QrLogin).where(QrLogin.id == code.id, QrLogin.status == CONFIRMED)
        .values(status=USED, version=QrLogin.version + 1)
    ).rowcount
    if taken != 1:
        db.session.rollback()
        return {"status": USED}
    user = load_user(code.user_id, code.appid)
    outcome = "ok" if user is not None and user.disabled_at is None else "user_disabled"
    # Made before the commit: once the code is used, nothing may fail before they leave.
    answer = {"status": CONFIRMED, **issue_tokens(user, via=QR)} if outcome == "ok" else None
    if user is not None:  # (a deleted account takes its codes with it: practically never None)
        add_attempt(code.appid, user, outcome, method="qr")
    db.session.commit()
    wakeups.changed(code.id)
    metrics.QR_LOGINS.labels(outcome).inc()
    if answer is None:
        raise ApiError(messages.USER_DISABLED)
    return answer
