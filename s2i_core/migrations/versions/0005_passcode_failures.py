"""Wrong teacher passcodes, so guessing is slowed down for a browser session and overall, in every
process and replica (see s2i_core/storage/throttle.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passcode_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("failed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passcode_failures")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_passcode_failures_scope_failed_at", "passcode_failures", ["scope", "failed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_passcode_failures_scope_failed_at", table_name="passcode_failures")
    op.drop_table("passcode_failures")
