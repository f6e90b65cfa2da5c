"""revocation and disabled users

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled_at", DATETIME, nullable=True))
        batch.add_column(
            sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "revoked_tokens",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("key"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


def downgrade():
    op.drop_table("revoked_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_generation")
        batch.drop_column("disabled_at")
