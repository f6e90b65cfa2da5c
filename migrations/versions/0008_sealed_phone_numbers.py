"""users: phone numbers stored encrypted, and (SQLite) user ids never given twice

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

"""
import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# What a number is bound to: wxlogin.accounts.phone.owner_of, written out here, since a
# migration must keep doing what it did when later code changes.
OWNER = "phone:{}"
SEALED_PREFIX = "v1:"


def upgrade():
    with _users_table() as batch:
        batch.alter_column("phone_number", existing_type=sa.String(length=32),
                           type_=sa.String(length=255), existing_nullable=True)
    _reseal(encrypt=True)


def downgrade():
    _reseal(encrypt=False)
    with _users_table() as batch:
        batch.alter_column("phone_number", existing_type=sa.String(length=255),
                           type_=sa.String(length=32), existing_nullable=True)


def _users_table():
    # SQLite gives the id of the last row deleted to the next one, unless AUTOINCREMENT: the
    # tokens of a deleted account would name the next new user. It needs the table rebuilt
    # (elsewhere ids are never given twice, and the table is altered in place).
    sqlite = op.get_bind().dialect.name == "sqlite"
    return op.batch_alter_table("users", recreate="always" if sqlite else "auto",
                                table_kwargs={"sqlite_autoincrement": True})


def _reseal(encrypt):
    """Encrypt the numbers stored in clear (or, going down, decrypt them), with the keys of
    the app running the migration (``flask db upgrade``: SESSION_KEY_ENCRYPTION_KEYS, or
    the keys derived from the signing keys)."""
    from wxlogin.security.crypto import cipher

    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, phone_number FROM users WHERE phone_number IS NOT NULL")).all()
    for user_id, stored in rows:
        sealed = stored.startswith(SEALED_PREFIX)
        if sealed == encrypt:
            continue
        if encrypt:
            value = cipher().encrypt(stored, OWNER.format(user_id))
        else:
            value = cipher().decrypt(stored, OWNER.format(user_id))
            if value is None:
                log.warning("the phone number of user %s does not decrypt with these keys: dropped", user_id)
        connection.execute(sa.text("UPDATE users SET phone_number = :value WHERE id = :id"),
                           {"value": value, "id": user_id})
    if rows:
        log.info("%s %d phone numbers", "encrypted" if encrypt else "decrypted", len(rows))
