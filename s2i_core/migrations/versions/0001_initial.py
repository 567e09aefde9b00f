"""Stories and their frames.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("class_name", sa.Text(), nullable=False),
        sa.Column("language", sa.String(64), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("style", sa.Text(), nullable=False),
        sa.Column("characters", sa.Text(), nullable=False),
        sa.Column("image_model", sa.Text(), nullable=False),
        sa.Column("image_params", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("narration_path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_stories_created_at", "stories", ["created_at"])
    op.create_index("ix_stories_class_name", "stories", ["class_name"])
    op.create_index("ix_stories_language", "stories", ["language"])

    op.create_table(
        "frames",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("image_path", sa.Text(), nullable=True),
        sa.Column("thumb_path", sa.Text(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_frames"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_frames_story_id_stories", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("story_id", "index", name="uq_frames_story_id_index"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("frames")
    op.drop_index("ix_stories_language", table_name="stories")
    op.drop_index("ix_stories_class_name", table_name="stories")
    op.drop_index("ix_stories_created_at", table_name="stories")
    op.drop_table("stories")
