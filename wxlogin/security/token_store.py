"""Where revoked tokens and login sessions are remembered, and how a token is checked
against them: one interface, two implementations, chosen once (``token_check.init_app``).

Keys are ``jti:<token id>`` (one token) and ``sid:<session id>`` (every token of one login,
the access and refresh tokens it began with and all rotated from them). Each entry lives
until the last token it covers can no longer be accepted, then goes: the database purges
expired rows now and then (and on ``flask tokens purge``); Redis expires its copies itself.

- ``DatabaseTokenStore``: the ``revoked_tokens`` table, the authority (no Redis needed).
- ``RedisTokenStore`` (``redis_store``): the same table read through Redis, one round trip
  per check, with each process's user snapshots kept fresh through Redis.
"""

import abc
import logging

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..database.statements import read_once
from ..database.upkeep import Every
from ..extensions import db
from ..models import RevokedToken, utcnow
from .redis_trust import count_missed_write
from .user_cache import SNAPSHOT_QUERY, snapshot_of

log = logging.getLogger(__name__)


def token_store():
    """The app's store (``DatabaseTokenStore`` or ``RedisTokenStore``)."""
    return current_app.extensions["token_store"]


def jti_key(claims):
    """The key that revokes one token."""
    return f"jti:{claims['jti']}"


def sid_key(claims):
    """The key that revokes every token of one login session."""
    return f"sid:{claims['sid']}"


class TokenStore(abc.ABC):
    @abc.abstractmethod
    def revoke(self, key, expires_at):
        """Remember ``key`` until ``expires_at``; False when it was revoked already (the
        primary key makes "first to revoke" atomic, on every host)."""

    @abc.abstractmethod
    def check(self, claims, user_id):
        """``(revoked, user)`` for a verified token: whether it or its whole login session
        was revoked, and a snapshot of its user (None when gone), in one round trip."""

    @abc.abstractmethod
    def purge(self):
        """Forget entries whose tokens have all expired; returns how many."""

    def tell_hosts(self, user_ids, attempts=1):
        """Tell every host's user cache that these users changed (``user_versions``); False
        when they could not all be told. Here there is no Redis to tell: hosts that use one
        learn of a critical change through the missed count instead."""
        return False

    def after_miss(self):
        """A write Redis missed was just counted (``redis_trust``)."""


class DatabaseTokenStore(TokenStore):
    """Revocations in the ``revoked_tokens`` table (the default: no Redis needed)."""

    def __init__(self):
        self._purge_due = Every(600)

    def revoke(self, key, expires_at, count_miss=False):
        """Committed at once, on a connection of its own, so that it holds whatever the
        request does next. ``count_miss``: Redis could not take its copy (counted in the
        same transaction)."""
        try:
            with db.engine.begin() as connection:
                connection.execute(
                    sa.insert(RevokedToken).values(key=key, expires_at=expires_at)
                )
                if count_miss:
                    count_missed_write(connection)
        except IntegrityError:
            return False  # the first revocation gave Redis its copy, or counted its miss
        if self._purge_due.due():
            self.purge()
        return True

    # ``EXISTS`` over the bound list ``keys``: a column of the check's one query.
    REVOKED = sa.exists().where(RevokedToken.key.in_(sa.bindparam("keys", expanding=True)))
    SNAPSHOT_AND_REVOKED = SNAPSHOT_QUERY.add_columns(REVOKED)

    def check(self, claims, user_id):
        """One query joining the user, their identity and the revocation check (on one
        connection, whatever the number of requests waiting)."""
        params = {"user_id": user_id, "appid": claims["aud"], "keys": [jti_key(claims), sid_key(claims)]}
        row = read_once(self.SNAPSHOT_AND_REVOKED, params)
        return (bool(row[-1]), snapshot_of(row[:-1])) if row is not None else (False, None)

    def purge(self):
        with db.engine.begin() as connection:
            count = connection.execute(
                sa.delete(RevokedToken).where(RevokedToken.expires_at < utcnow())
            ).rowcount
        if count:
            log.info("purged %d expired token revocations", count)
        return count
