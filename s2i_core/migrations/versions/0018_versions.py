"""Every story and frame carries a version, so a teacher's save names the version it was based
on and a save that another teacher overtook is refused instead of overwriting their words
(s2i_core/storage/versions.py). Rows saved before start at version 1.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("stories", "frames"):
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    for table in ("frames", "stories"):
        with op.batch_alter_table(table) as batch:  # SQLite before 3.35 cannot drop a column
            batch.drop_column("version")
