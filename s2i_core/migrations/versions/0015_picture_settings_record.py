"""A story's picture settings as one versioned record, its word list in a column of its own.

Before, ``stories.image_params`` held the settings as they happened to be saved (a word list
mixed in, "width"/"height" from before models named their shapes, the model only in
``image_model``, seeds the service refuses) and every read fixed them up. Now each row is brought
to version 1 of ``ImageParams.record()`` here, once: {"version": 1, "model", "aspect_ratio",
"steps", "cfg_scale", "sampler", "seed", "negative_prompt"} (the values set), and the word list
moves to ``stories.word_list`` (NULL: the classroom's default list).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

import random
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

RECORD_VERSION = 1
FIELDS = ("model", "aspect_ratio", "steps", "cfg_scale", "sampler", "seed", "negative_prompt")
MAX_SEED = 4_294_967_295

stories = sa.table(
    "stories",
    sa.column("id", sa.Integer),
    sa.column("image_model", sa.Text),
    sa.column("image_params", sa.JSON),
    sa.column("word_list", sa.JSON),
)


def upgrade() -> None:
    op.add_column("stories", sa.Column("word_list", sa.JSON(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(stories.c.id, stories.c.image_model, stories.c.image_params)
    )
    for row in rows.all():
        record, word_list = settings_record(dict(row.image_params or {}), row.image_model)
        connection.execute(
            stories.update()
            .where(stories.c.id == row.id)
            .values(image_params=record, word_list=word_list)
        )


def settings_record(saved: dict[str, Any], image_model: str) -> tuple[dict[str, Any], Any]:
    """(version 1 record, word list or None) from what an older version saved."""
    word_list = saved.pop("blocklist", None)
    width, height = saved.pop("width", None), saved.pop("height", None)
    if not saved.get("aspect_ratio") and width and height:
        saved["aspect_ratio"] = f"{width}:{height}"  # saved before models named their shapes
    saved.setdefault("model", image_model)
    seed = saved.get("seed")
    if isinstance(seed, int) and not 0 <= seed <= MAX_SEED:  # saved before seeds were checked
        saved["seed"] = random.randint(1, 2**31 - 1)
    values = {k: saved[k] for k in FIELDS if saved.get(k) not in (None, "")}
    return {"version": RECORD_VERSION, **values}, None if word_list is None else list(word_list)


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(stories.c.id, stories.c.image_params, stories.c.word_list))
    for row in rows.all():
        saved = {k: v for k, v in dict(row.image_params or {}).items() if k != "version"}
        if row.word_list is not None:
            saved["blocklist"] = list(row.word_list)
        connection.execute(
            stories.update().where(stories.c.id == row.id).values(image_params=saved)
        )
    with op.batch_alter_table("stories") as batch:  # SQLite before 3.35 cannot drop a column
        batch.drop_column("word_list")
