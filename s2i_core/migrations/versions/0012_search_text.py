"""Search without accents or case: stories and frames get their text folded for search
(s2i_core/storage/search.py), filled here for the rows saved before.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 500  # rows read and written at a time: a large library never sits in memory whole


def upgrade() -> None:
    from s2i_core.storage.search import frame_search_text, story_search_text

    for table in ("stories", "frames"):
        op.add_column(table, sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    stories = sa.table(
        "stories",
        sa.column("id", sa.Integer),
        sa.column("title", sa.Text),
        sa.column("class_name", sa.Text),
        sa.column("transcript", sa.Text),
        sa.column("search_text", sa.Text),
    )
    frames = sa.table(
        "frames",
        sa.column("id", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("text_en", sa.Text),
        sa.column("search_text", sa.Text),
    )
    _fill(stories, (stories.c.title, stories.c.class_name, stories.c.transcript), story_search_text)
    _fill(frames, (frames.c.text, frames.c.text_en), frame_search_text)


def _fill(table, columns, folded) -> None:
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, *columns)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            table.update().where(table.c.id == sa.bindparam("row_id")),
            [{"row_id": row[0], "search_text": folded(*row[1:])} for row in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    for table in ("frames", "stories"):
        with op.batch_alter_table(table) as batch:  # SQLite before 3.35 cannot drop a column
            batch.drop_column("search_text")
