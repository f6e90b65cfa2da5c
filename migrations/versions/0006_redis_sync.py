"""redis_sync: how many writes Redis has missed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "redis_sync",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("missed", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.bulk_insert(table, [{"id": 1, "missed": 0}])  # the one row (wxlogin.security.redis_trust)


def downgrade():
    op.drop_table("redis_sync")
