"""Closing an account: the user's right to deletion (PIPL article 47).

One transaction erases the user row; the database's ``ON DELETE CASCADE`` takes their
identities (with the sealed session keys), notes and web login codes, and the sealed phone
number goes with the row. The audit trail keeps its rows, with nothing left that names the
person: no user id, address or user agent.

Every token of the user is refused from the next request on, on every host, by the path a
disabling takes (``user_versions``: a critical change, told to Redis before the commit or
counted as missed): the token check then finds no user, 401 ``token_revoked``. A later
login of the same WeChat user finds no identity and makes a new account.
"""

import logging

import sqlalchemy as sa

from ..database.statements import retry_on_conflict
from ..extensions import db
from ..models import LoginAttempt, User
from ..security.user_versions import changed

log = logging.getLogger(__name__)


@retry_on_conflict
def delete_account(user_id):
    """Erase the user; True if there was one to erase.

    The user's row is locked first: a login racing the deletion then either commits before
    (and its audit row is cleared with the others) or waits, and finds no user after.
    """
    db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
    db.session.execute(
        sa.update(LoginAttempt).where(LoginAttempt.user_id == user_id)
        .values(user_id=None, client_ip=None, user_agent=None)
    )
    deleted = db.session.execute(sa.delete(User).where(User.id == user_id)).rowcount
    changed(user_id, critical=True)
    db.session.commit()
    if deleted:
        log.info("user %s deleted their account", user_id)
    return deleted == 1
