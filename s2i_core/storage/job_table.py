"""The ``jobs`` table: work queued for the workers. ``s2i_core.jobs.book`` reads and writes it;
it lives here with the other tables so that one schema (and one migration history) holds all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    exists,
)
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    done: Mapped[float] = mapped_column(Float)  # progress: frames drawn, seconds heard
    total: Mapped[float] = mapped_column(Float)  # 0: not known yet
    detail: Mapped[str] = mapped_column(Text)  # what it is doing now, or where its output is
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)  # times a worker started it
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def work_waiting(story_id: Any) -> ColumnElement[bool]:
    """Whether a story has work (not an export) queued or running: a story whose sentences are
    still to come is then waiting for a worker, not interrupted."""
    return exists().where(
        Job.story_id == story_id, Job.state.in_(("queued", "running")), Job.kind != "export"
    )
