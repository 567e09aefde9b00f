"""Teacher sessions held on the server: created at unlock or sign-in, ended by Lock, by "Lock on
every device" or after the lesson (see s2i_core/storage/sessions.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teacher_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("login_hash", sa.String(64), nullable=True),
        sa.Column("ticket_hash", sa.String(64), nullable=True),
        sa.Column("ticket_until", sa.Float(), nullable=True),
        sa.Column("browser", sa.String(64), nullable=False),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teacher_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_teacher_sessions_token_hash")),
        sa.UniqueConstraint("login_hash", name=op.f("uq_teacher_sessions_login_hash")),
        sa.UniqueConstraint("ticket_hash", name=op.f("uq_teacher_sessions_ticket_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_teacher_sessions_user", "teacher_sessions", ["user"])


def downgrade() -> None:
    op.drop_index("ix_teacher_sessions_user", table_name="teacher_sessions")
    op.drop_table("teacher_sessions")
