"""Each picture of a frame keeps the scene it was drawn from (and who wrote it), so choosing an
earlier try again brings back its scene with its prompt. Pictures drawn before have none (NULL):
choosing one of them keeps the frame's scene as it is (see s2i_core/storage/tables.py ``show``).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("frame_pictures", sa.Column("scene", sa.Text(), nullable=True))
    op.add_column("frame_pictures", sa.Column("scene_source", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("frame_pictures") as table:  # SQLite before 3.35 cannot drop one
        table.drop_column("scene_source")
        table.drop_column("scene")
