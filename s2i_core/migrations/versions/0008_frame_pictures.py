"""Every picture a frame ever got (``frame_pictures``), so a redo never loses one; ``picture_id``
on a frame names the one it shows. A frame that already had its picture keeps it as its first.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


frames = sa.table(
    "frames",
    sa.column("id", sa.Integer),
    sa.column("story_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("prompt", sa.Text),
    sa.column("image_path", sa.Text),
    sa.column("thumb_path", sa.Text),
    sa.column("seed", sa.BigInteger),
    sa.column("attempts", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("picture_id", sa.Integer),
)
stories = sa.table("stories", sa.column("id", sa.Integer), sa.column("image_model", sa.Text))
pictures = sa.table(
    "frame_pictures",
    sa.column("id", sa.Integer),
    sa.column("frame_id", sa.Integer),
    sa.column("attempt", sa.Integer),
    sa.column("seed", sa.BigInteger),
    sa.column("prompt", sa.Text),
    sa.column("model", sa.Text),
    sa.column("image_path", sa.Text),
    sa.column("thumb_path", sa.Text),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "frame_pictures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("frame_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("image_path", sa.Text(), nullable=False),
        sa.Column("thumb_path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["frame_id"],
            ["frames.id"],
            name=op.f("fk_frame_pictures_frame_id_frames"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frame_pictures")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_frame_pictures_frame_id"), "frame_pictures", ["frame_id"])
    op.add_column("frames", sa.Column("picture_id", sa.Integer(), nullable=True))

    _keep_drawn_pictures()


def _keep_drawn_pictures() -> None:
    """Each frame drawn before becomes its own first picture."""
    connection = op.get_bind()
    drawn = connection.execute(
        sa.select(
            frames.c.id,
            frames.c.prompt,
            frames.c.image_path,
            frames.c.thumb_path,
            frames.c.seed,
            frames.c.attempts,
            frames.c.updated_at,
            stories.c.image_model,
        )
        .join(stories, stories.c.id == frames.c.story_id)
        .where(frames.c.status == "done", frames.c.image_path.is_not(None))
    ).all()
    for row in drawn:
        picture_id = connection.execute(
            pictures.insert()
            .values(
                frame_id=row.id,
                attempt=max(1, row.attempts),
                seed=row.seed,
                prompt=row.prompt,
                model=row.image_model,
                image_path=row.image_path,
                thumb_path=row.thumb_path,
                created_at=row.updated_at,
            )
            .returning(pictures.c.id)
        ).scalar_one()
        connection.execute(
            frames.update().where(frames.c.id == row.id).values(picture_id=picture_id)
        )


def downgrade() -> None:
    with op.batch_alter_table("frames") as batch:
        batch.drop_column("picture_id")
    op.drop_index(op.f("ix_frame_pictures_frame_id"), table_name="frame_pictures")
    op.drop_table("frame_pictures")
