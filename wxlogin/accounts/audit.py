"""The login audit trail: every POST /wx/login attempt, and every web session handed over
by QR code, kept ``AUDIT_RETENTION_DAYS``."""

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.exc import SQLAlchemyError

from ..database.upkeep import Every
from ..extensions import db
from ..models import LoginAttempt, utcnow

log = logging.getLogger(__name__)

_purge_due = Every(600)


# On the table, built once: inserted at once, in the request's transaction, rather than
# added to the session for its flush at commit (the unit of work cost a tenth of a login).
_INSERT = sa.insert(LoginAttempt.__table__)


def add_attempt(appid, user, outcome, method="code"):
    """Write one login attempt in the current transaction (a successful login commits it
    with the login itself: one commit, not two). ``method``: how the login was made, with a
    wx.login() code or as a web session by QR code (``qr_login``)."""
    db.session.execute(_INSERT, {
        "at": utcnow(),
        "appid": appid,
        "user_id": user.id if user is not None else None,
        "client_ip": (request.remote_addr or "")[:64],
        "user_agent": request.headers.get("User-Agent", "")[:256],
        "outcome": outcome,
        "method": method,
    })


def record_attempt(appid, user, outcome):
    """Remember one login attempt on its own. Never fails the login it describes."""
    try:
        add_attempt(appid, user, outcome)
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("login attempt not recorded: %s", type(exc).__name__)
    purge_old_attempts_now_and_then()


def purge_old_attempts_now_and_then():
    """Purge in passing, at most every 10 minutes per process. Never fails a login."""
    if not _purge_due.due():
        return
    try:
        purge_old()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("old login attempts not purged: %s", type(exc).__name__)


def purge_old():
    """Forget attempts older than the retention limit; returns how many."""
    days = current_app.config["AUDIT_RETENTION_DAYS"]
    count = db.session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.at < utcnow() - timedelta(days=days))
    ).rowcount
    db.session.commit()
    return count


def recent_attempts(user_ids, limit=20):
    return db.session.scalars(
        sa.select(LoginAttempt)
        .where(LoginAttempt.user_id.in_(user_ids))
        .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
        .limit(limit)
    ).all()
