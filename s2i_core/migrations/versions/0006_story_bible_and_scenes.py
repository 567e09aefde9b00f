"""The story bible, each frame's scene (and who wrote it), and the classroom settings table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the rows saved before this revision: no bible, no scene yet (their
    # prompts were made from the English line, which stays what they are drawn from).
    op.add_column("stories", sa.Column("bible", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("frames", sa.Column("scene", sa.Text(), nullable=False, server_default=""))
    op.add_column(
        "frames", sa.Column("scene_source", sa.String(16), nullable=False, server_default="")
    )
    op.create_table(
        "classroom_settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_classroom_settings"),
    )


def downgrade() -> None:
    op.drop_table("classroom_settings")
    with op.batch_alter_table("frames") as batch:  # SQLite before 3.35 cannot drop a column
        batch.drop_column("scene_source")
        batch.drop_column("scene")
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("bible")
