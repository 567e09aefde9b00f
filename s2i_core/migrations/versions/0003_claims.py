"""Leases: a frame being drawn is claimed until ``lease_until``; a story being worked on is held
until its ``lease_until`` (renewed while the work goes on), so a killed worker's story reads as
interrupted. ``worker`` names the holder (host:pid), so a holder known dead on this machine
does not block the work until its lease runs out. ``sentences_missing`` marks a story whose
narration has not all become frames yet.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("frames", "stories"):
        op.add_column(table, sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("worker", sa.Text(), nullable=True))
    op.add_column(
        "stories",
        sa.Column("sentences_missing", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # Earlier versions wrote the transcript once every sentence had its frame: a story killed
    # during transcription kept an empty one (and a later regenerate even called it complete).
    stories = sa.table(
        "stories",
        sa.column("transcript", sa.Text),
        sa.column("narration_path", sa.Text),
        sa.column("sentences_missing", sa.Boolean),
        sa.column("status", sa.String),
    )
    op.execute(
        stories.update()
        .where(stories.c.transcript == "", stories.c.narration_path.is_not(None))
        .values(sentences_missing=True, status="interrupted")
    )
    op.execute(
        stories.update().where(stories.c.status == "generating").values(status="interrupted")
    )


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("sentences_missing")
    for table in ("frames", "stories"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("worker")
            batch.drop_column("lease_until")
