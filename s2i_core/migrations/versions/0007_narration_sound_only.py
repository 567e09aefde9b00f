"""Narrations saved with their video (a phone recording kept byte for byte, sent whole to every
student's replay) become sound only: the sound track is copied out, not re-encoded.

Needs the data folder (``Library`` hands it over); run without one, it changes nothing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import os
import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from s2i_core.audio import has_video, narration_for_replay
    from s2i_core.errors import S2IError

    data_dir = op.get_context().config.attributes.get("data_dir")
    if data_dir is None:
        return
    stories = sa.table("stories", sa.column("id", sa.Integer), sa.column("narration_path", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(stories.c.id, stories.c.narration_path).where(
            stories.c.narration_path.is_not(None)
        )
    ).all()
    for story_id, rel in rows:
        path = Path(data_dir) / rel
        if not path.is_file():
            continue
        data = path.read_bytes()
        try:
            if not has_video(data):
                continue
            sound, ext, _mime = narration_for_replay(data)
        except S2IError:  # not readable as audio: left as it is
            continue
        target = path.with_name(f"narration.{ext}")
        _write(target, sound)
        connection.execute(
            stories.update()
            .where(stories.c.id == story_id)
            .values(narration_path=target.relative_to(data_dir).as_posix())
        )
        if target != path:
            path.unlink()


def _write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def downgrade() -> None:
    pass  # the videos are gone for good; the sound-only narrations serve every version
