"""Every committed change to a user reaches every host: the user gets a new version in Redis.

ORM changes to a user or their identities are collected at flush; bulk ``UPDATE`` statements
name their user with :func:`changed`. If Redis cannot take the new version of a user whose
tokens' validity changed (disabled, every token revoked), the write is counted as missed
(``redis_trust``): every host then asks the database until Redis is reloaded, and every
snapshot read under the old marker is dropped. Other changes (a profile, a login) are logged
and may be served stale for up to ``user_cache.MAX_AGE``. A critical change made without
Redis (``flask users`` run without the service's ``REDIS_URL``) is counted as missed too.
"""

import sqlalchemy as sa
from flask import current_app, has_app_context

from ..extensions import db
from ..models import Identity, User
from .redis_trust import count_missed_write

CRITICAL_ATTEMPTS = 2  # a critical change tries Redis twice before counting it as missed


def changed(user_id, critical=False):
    """Note that this transaction changed the user, for statements the ORM cannot see;
    ``critical``: their tokens' validity changed (every token revoked, disabled)."""
    db.session.info.setdefault("changed_users", set()).add(user_id)
    if critical:
        db.session.info.setdefault("critical_users", set()).add(user_id)


# What decides whether a user's tokens are accepted: a change to it must reach every host.
_CRITICAL = ("disabled_at", "token_generation")


@sa.event.listens_for(db.session, "after_flush")
def _collect(session, _context):
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, User) and instance.id is not None:
            state = sa.inspect(instance)
            critical = any(state.attrs[name].history.has_changes() for name in _CRITICAL)
            session.info.setdefault("changed_users", set()).add(instance.id)
            if critical:
                session.info.setdefault("critical_users", set()).add(instance.id)
        elif isinstance(instance, Identity) and instance.user_id is not None:
            session.info.setdefault("changed_users", set()).add(instance.user_id)


@sa.event.listens_for(db.session, "before_commit")
def _count_what_redis_will_miss(session):
    """Before a critical change commits, make sure Redis can take it; if not, count the miss
    in the change's own transaction, so that no host can go on believing Redis about it
    once it is committed (a count made afterwards could fail on its own)."""
    if not has_app_context():
        return
    session.flush()  # the final flush: _collect sees every change
    critical = session.info.get("critical_users")
    if not critical:
        return
    store = _store()
    # Without Redis here (``flask users`` without REDIS_URL) hosts that use one are not told.
    if store is None or not store.tell_hosts(critical, attempts=CRITICAL_ATTEMPTS):
        count_missed_write(session.connection())
        session.info["redis_missed"] = True


@sa.event.listens_for(db.session, "after_commit")
def _publish(session):
    """New versions for the changed users, now that the change is visible: snapshots read
    before the commit are refused from now on."""
    changed_users = session.info.pop("changed_users", None)
    critical = session.info.pop("critical_users", ())
    missed = session.info.pop("redis_missed", False)
    store = _store()
    if store is None:
        return
    if changed_users and not missed and not store.tell_hosts(changed_users) and critical:
        # Redis took the first bump but not this one: count it on its own (best effort).
        count_missed_write()
        missed = True
    if missed:
        store.after_miss()


@sa.event.listens_for(db.session, "after_rollback")
def _forget(session):
    for name in ("changed_users", "critical_users", "redis_missed"):
        session.info.pop(name, None)


def _store():
    """The app's token store; None outside an app, or in one that has none."""
    return current_app.extensions.get("token_store") if has_app_context() else None
