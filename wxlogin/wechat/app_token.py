"""Each mini program's WeChat access token (the *app token*, not to be confused with our own
access tokens, the JWTs), shared by every process, refreshed by one.

The token lives in the ``access_tokens`` table (encrypted like session keys). A process
that finds it missing or about to expire takes the row's lease (one atomic conditional
UPDATE naming itself) and fetches a new one from ``cgi-bin/stable_token``; every other
process waits for that token instead of asking WeChat too. The lease outlasts the longest
the fetch can take (all its retries), so it never passes to a second refresher mid-fetch.

A token WeChat refuses (40001/42001) is replaced once and the call retried: first by a
normal fetch (another service on the same appid may have renewed it), and with
``force_refresh`` only if WeChat hands back the refused token, since forced refreshes are
rationed by WeChat and cut off every other holder of the token.
"""

import logging
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .. import messages
from ..extensions import db
from ..models import AppToken, utcnow
from ..security.crypto import cipher
from .client import wechat_client
from .errors import WeChatError

log = logging.getLogger(__name__)

EARLY_SECONDS = 300  # stop using a token this long before WeChat's expiry (at most half its life)
REFUSED = {40001, 42001}  # invalid / expired access token


def call_with_app_token(appid, call):
    """``call(token)`` with the app's token; on 40001/42001 once more with a fresh one."""
    token = app_token(appid)
    try:
        return call(token)
    except WeChatError as error:
        if error.errcode not in REFUSED:
            raise
        log.warning("WeChat refused the access token of %s (errcode %s): refreshing", appid, error.errcode)
        return call(app_token(appid, refused=token))


def app_token(appid, refused=None):
    """A valid token of ``appid``; ``refused``, a token WeChat just rejected, is replaced
    unless another process already did."""
    client = wechat_client()
    # Longer than the longest fetch: two stable_token calls (normal, then forced), each with
    # all its retries, so the lease never passes to a second refresher mid-fetch.
    lease = timedelta(seconds=(client.retries + 1) * client.timeout * 2 + 5)
    deadline = time.monotonic() + lease.total_seconds() + 2
    owner = uuid.uuid4().hex
    while True:
        token, exists = _usable(appid, refused)
        if token:
            return token
        if _take_lease(appid, owner, lease, exists):
            try:
                # Another process may have refreshed between our read and our lease.
                return _usable(appid, refused)[0] or _refresh(appid, owner, refused)
            finally:
                _release(appid, owner)
        if time.monotonic() > deadline:
            raise WeChatError(messages.WECHAT_BUSY)
        time.sleep(0.05)


def _usable(appid, refused):
    """(the stored token if it can still be used, whether the row exists)."""
    # End the request's transaction first: a fresh one sees what other processes committed.
    db.session.commit()
    row = db.session.execute(
        sa.select(AppToken.token, AppToken.expires_at).where(AppToken.appid == appid)
    ).first()
    db.session.commit()
    if row is None or row.token is None or row.expires_at <= utcnow():
        return None, row is not None
    token = cipher().decrypt(row.token, _owner(appid))
    return (token if token != refused else None), True


def _owner(appid):
    # What stored tokens are bound to; the name predates "app token": changing it would
    # make every stored token unreadable (as would renaming the access_tokens table).
    return f"access_token:{appid}"


def _take_lease(appid, owner, lease, exists):
    """The refresh lock: whoever turns an absent or lapsed lease into theirs holds it."""
    now = utcnow()
    if not exists:
        try:
            db.session.execute(sa.insert(AppToken).values(appid=appid))
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another process made the row first
    taken = db.session.execute(
        sa.update(AppToken)
        .where(
            AppToken.appid == appid,
            sa.or_(AppToken.lease_until.is_(None), AppToken.lease_until < now),
        )
        .values(lease_until=now + lease, lease_owner=owner)
    ).rowcount
    db.session.commit()
    return taken == 1


def _refresh(appid, owner, refused):
    client = wechat_client()
    token, expires_in = client.stable_token(appid)
    if refused is not None and token == refused:
        token, expires_in = client.stable_token(appid, force_refresh=True)
    use_for = expires_in - min(EARLY_SECONDS, expires_in // 2)
    db.session.execute(
        sa.update(AppToken)
        .where(AppToken.appid == appid, AppToken.lease_owner == owner)
        .values(token=cipher().encrypt(token, _owner(appid)), expires_at=utcnow() + timedelta(seconds=use_for))
    )
    db.session.commit()
    log.info("fetched a new WeChat access token for %s (valid %ss)", appid, expires_in)
    return token


def _release(appid, owner):
    db.session.rollback()  # whatever a failed refresh left half done
    db.session.execute(
        sa.update(AppToken)
        .where(AppToken.appid == appid, AppToken.lease_owner == owner)
        .values(lease_until=None, lease_owner=None)
    )
    db.session.commit()
