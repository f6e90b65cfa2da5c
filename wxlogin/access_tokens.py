"""Each mini program's WeChat access token, shared by every process, refreshed by one.

The token lives in the ``access_tokens`` table (encrypted like session keys). A process
that finds it missing or about to expire takes the row's lease (one atomic conditional
UPDATE) and fetches a new one from ``cgi-bin/stable_token``; every other process waits for
that token instead of asking WeChat too. A token WeChat refuses (40001/42001) is replaced
once, by the same rule, and the call retried. Code exchange never needs a token.
"""

import logging
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import AccessToken, utcnow
from .wechat_errors import WeChatError

log = logging.getLogger(__name__)

EARLY = timedelta(minutes=5)  # refresh this long before WeChat's expiry
LEASE = timedelta(seconds=15)  # a refresher that died holds the lock no longer than this
WAIT_SECONDS = 10
REFUSED = {40001, 42001}  # invalid / expired access token


def call_with_access_token(appid, call):
    """``call(token)`` with the app's token; on 40001/42001 once more with a fresh one."""
    token = access_token(appid)
    try:
        return call(token)
    except WeChatError as error:
        if error.errcode not in REFUSED:
            raise
        log.warning("WeChat refused the access token of %s (errcode %s): refreshing", appid, error.errcode)
        return call(access_token(appid, refused=token))


def access_token(appid, refused=None):
    """A valid token of ``appid``; ``refused``, a token WeChat just rejected, is replaced
    unless another process already did."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        token = _usable(appid, refused)
        if token:
            return token
        if _take_lease(appid):
            try:
                # Another process may have refreshed between our read and our lease.
                return _usable(appid, refused) or _refresh(appid, force=refused is not None)
            finally:
                _release(appid)
        if time.monotonic() > deadline:
            raise WeChatError(503, "upstream_unavailable", "WeChat is busy: try again in a moment.")
        time.sleep(0.05)


def _usable(appid, refused):
    token, expires_at = _read(appid)
    if token and token != refused and expires_at - EARLY > utcnow():
        return token
    return None


def _cipher():
    return current_app.extensions["session_key_cipher"]


def _owner(appid):
    return f"access_token:{appid}"


def _read(appid):
    # End the request's transaction first: a fresh one sees what other processes committed
    # (MySQL's repeatable read would keep showing the old row).
    db.session.commit()
    row = db.session.execute(
        sa.select(AccessToken.token, AccessToken.expires_at).where(AccessToken.appid == appid)
    ).first()
    db.session.commit()
    if row is None or row.token is None:
        return None, None
    return _cipher().decrypt(row.token, _owner(appid)), row.expires_at


def _take_lease(appid):
    """The refresh lock: whoever turns an absent or lapsed lease into theirs holds it."""
    now = utcnow()
    try:
        db.session.execute(sa.insert(AccessToken).values(appid=appid))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the row exists
    taken = db.session.execute(
        sa.update(AccessToken)
        .where(
            AccessToken.appid == appid,
            sa.or_(AccessToken.lease_until.is_(None), AccessToken.lease_until < now),
        )
        .values(lease_until=now + LEASE)
    ).rowcount
    db.session.commit()
    return taken == 1


def _refresh(appid, force):
    token, expires_in = current_app.extensions["wechat"].stable_token(appid, force_refresh=force)
    db.session.execute(
        sa.update(AccessToken)
        .where(AccessToken.appid == appid)
        .values(
            token=_cipher().encrypt(token, _owner(appid)),
            expires_at=utcnow() + timedelta(seconds=expires_in),
        )
    )
    db.session.commit()
    log.info("fetched a new WeChat access token for %s (valid %ss)", appid, expires_in)
    return token


def _release(appid):
    db.session.rollback()  # whatever a failed refresh left half done
    db.session.execute(sa.update(AccessToken).where(AccessToken.appid == appid).values(lease_until=None))
    db.session.commit()
