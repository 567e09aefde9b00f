"""How sure speech recognition was of each story's language, so a page can ask the teacher.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for stories saved before: nothing is known, so nothing is said about their language.
    op.add_column("stories", sa.Column("language_probability", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch:  # SQLite before 3.35 cannot drop a column
        batch.drop_column("language_probability")
