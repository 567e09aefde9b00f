"""Whisper's word times on each frame, for word-by-word read-along.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default fills the frames saved before this revision with an empty list.
    op.add_column(
        "frames",
        sa.Column("words", sa.JSON(), nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    with op.batch_alter_table("frames") as batch:  # SQLite before 3.35 cannot drop a column
        batch.drop_column("words")
