"""qr_logins (web login by scanning the mini program code), and how each login was made

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        "qr_logins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("scene", sa.String(length=32), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reported", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("requester_ip", sa.String(length=64), nullable=False),
        sa.Column("requester_agent", sa.String(length=256), nullable=False),
        sa.Column("created_at", DATETIME, nullable=False),
        sa.Column("expires_at", DATETIME, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("scanned_at", DATETIME, nullable=True),
        sa.Column("decided_at", DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_hash"),
        sa.UniqueConstraint("scene"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index("ix_qr_logins_expires_at", "qr_logins", ["expires_at"])
    op.create_index("ix_qr_logins_user_id", "qr_logins", ["user_id"])  # a deletion's cascade
    # Logins made before this revision were all made with a wx.login() code.
    op.add_column(
        "login_attempts",
        sa.Column("method", sa.String(length=16), server_default="code", nullable=False),
    )


def downgrade():
    with op.batch_alter_table("login_attempts") as batch:  # SQLite cannot drop a column in place
        batch.drop_column("method")
    op.drop_table("qr_logins")
