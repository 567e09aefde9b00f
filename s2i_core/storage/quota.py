"""Pictures per teacher per day (``S2I_PICTURES_PER_TEACHER_DAY``), on top of the API key's shared
rate: counted as pictures are saved (a deleted story still counts), checked where pictures are
asked for. A day is the server's calendar day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, Integer, String, Text, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..errors import PictureLimitError
from ..i18n import msg
from .tables import Base, Story


class PictureCount(Base):
    __tablename__ = "picture_counts"

    owner: Mapped[str] = mapped_column(Text, primary_key=True)  # as Story.owner
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2026-12-05
    pictures: Mapped[int] = mapped_column(Integer)


def today() -> str:
    return date.today().isoformat()


def count_picture(session: Session, story_id: int) -> None:
    """One more picture for the story's owner today (inside the saving transaction). The day's
    row is made first if missing, without an error when another saving made it meanwhile (two
    pictures saved at one moment on PostgreSQL both found no row, and the second insert failed)."""
    owner = session.scalar(select(Story.owner).where(Story.id == story_id)) or ""
    day = today()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    new_row = dialect.insert(PictureCount).values(owner=owner, day=day, pictures=0)
    session.execute(new_row.on_conflict_do_nothing())
    session.execute(
        update(PictureCount)
        .where(PictureCount.owner == owner, PictureCount.day == day)
        .values(pictures=PictureCount.pictures + 1)
    )


def pictures_today(engine: Engine, owner: str) -> int:
    statement = select(PictureCount.pictures).where(
        PictureCount.owner == owner, PictureCount.day == today()
    )
    with engine.connect() as connection:
        return connection.scalar(statement) or 0


def check_allowance(engine: Engine, owner: str, limit: int, wanted: int) -> None:
    """Raise PictureLimitError unless ``owner`` may have ``wanted`` more pictures today."""
    if limit <= 0 or wanted <= 0:
        return
    left = max(limit - pictures_today(engine, owner), 0)
    if wanted > left:
        more = f"only {left} more" if left else "no more"
        raise PictureLimitError(
            msg(
                "Each teacher can have {limit} pictures a day on this server, and you "
                "can have {more} today: {wanted} were asked for. Tomorrow there are "
                "{limit} again (your school's administrator sets "
                "S2I_PICTURES_PER_TEACHER_DAY).",
                limit=limit,
                more=more,
                wanted=wanted,
            )
        )


def check_story_allowance(library, limit: int, story, frame_ids: list[int] | None = None) -> None:
    """Before pictures of ``story`` are queued: may its owner have them today? (``frame_ids``:
    those again; None: every frame still without its picture; at least one.)"""
    if limit <= 0:
        return
    wanted = (
        len(frame_ids)
        if frame_ids is not None
        else sum(frame.status != "done" for frame in story.frames)
    )
    check_allowance(library.engine, story.owner, limit, max(wanted, 1))
