"""phone numbers and shared access tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("phone_number", sa.String(length=32), nullable=True))
    op.create_table(
        "access_tokens",
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=512), nullable=True),
        sa.Column("expires_at", DATETIME, nullable=True),
        sa.Column("lease_until", DATETIME, nullable=True),
        sa.Column("lease_owner", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("appid"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )


def downgrade():
    op.drop_table("access_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("phone_number")
