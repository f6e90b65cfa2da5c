"""What a protected request knows about its user: an immutable snapshot, read in one query.

Every request with a token must know that the user exists, is not disabled, and that the
token's generation is current; ``/wx/me`` also returns the profile. The token store reads
it with the revocation check (database) or keeps it in ``user_cache`` (Redis).
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..models import Identity, User


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """A user as one mini program knows them; immutable, so threads can share it."""

    id: int
    appid: str
    openid: str
    unionid: str | None
    nickname: str | None
    avatar_url: str | None
    phone_number: str | None
    created_at: datetime
    last_login_at: datetime
    disabled: bool
    token_generation: int


SNAPSHOT_COLUMNS = (
    User.id, Identity.appid, Identity.openid, User.unionid, User.nickname, User.avatar_url,
    User.phone_number, User.created_at, User.last_login_at,
    User.disabled_at.is_not(None).label("disabled"), User.token_generation,
)


# Built once: a statement with bound parameters is compiled once and cached.
SNAPSHOT_QUERY = (
    sa.select(*SNAPSHOT_COLUMNS)
    .join(Identity, Identity.user_id == User.id)
    .where(User.id == sa.bindparam("user_id"), Identity.appid == sa.bindparam("appid"))
)


def snapshot_of(row):
    return UserSnapshot(*row) if row is not None else None
