"""The story library: stories and frames in SQLite (or PostgreSQL), pictures and audio on disk.

Callers only ever see the frozen dataclasses below, never ORM objects, so records can cross threads
and be cached. Every method runs one short transaction. Media live under
``<data_dir>/media/<story_id>/`` with names made from ids only; the database stores paths relative
to ``data_dir``. Files are written atomically (temporary file, fsync, rename) before the row that
points to them is committed, so a crash leaves at worst an unused file, never a row without a file.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from PIL import Image, UnidentifiedImageError
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    exists,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)

from .errors import FrameNotFoundError, StorageError, StoryNotFoundError
from .settings import Settings

FRAME_STATUSES = ("pending", "done", "filtered", "failed", "no_backend")
STORY_STATUSES = ("draft", "generating", "complete", "incomplete")
EDITABLE_STORY_FIELDS = frozenset(
    {
        "title",
        "class_name",
        "language",
        "duration",
        "transcript",
        "style",
        "characters",
        "image_model",
        "image_params",
        "seed",
        "status",
    }
)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_MIGRATION_LOCK_ID = 0x5321  # any constant: serialises schema upgrades of concurrent processes
IMAGE_SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


# --- records handed to callers -----------------------------------------------------------------
WordTime = tuple[float, float, str]  # (start, end, word) in seconds, the word as Whisper wrote it


@dataclass(frozen=True)
class FrameDraft:
    index: int
    start: float
    end: float
    text: str
    text_en: str = ""
    prompt: str = ""
    words: tuple[WordTime, ...] = ()  # empty: the replay highlights the whole sentence


@dataclass(frozen=True)
class FrameRecord:
    id: int
    story_id: int
    index: int
    start: float
    end: float
    text: str
    text_en: str
    prompt: str
    status: str
    error: str
    image_path: str | None
    thumb_path: str | None
    seed: int
    attempts: int
    updated_at: datetime
    words: tuple[WordTime, ...] = ()


@dataclass(frozen=True)
class StoryRecord:
    id: int
    title: str
    class_name: str
    created_at: datetime
    updated_at: datetime
    language: str
    duration: float
    transcript: str
    style: str
    characters: str
    image_model: str
    image_params: dict[str, Any]
    seed: int
    status: str
    narration_path: str | None
    frames: list[FrameRecord]


@dataclass(frozen=True)
class StorySummary:
    id: int
    title: str
    class_name: str
    created_at: datetime
    language: str
    frame_count: int
    done_count: int
    status: str
    cover_thumb_path: str | None


# --- schema (migrations/versions/ build the same tables: 0001 creates them, 0002 adds words) ----
class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Story(Base):
    __tablename__ = "stories"
    # Ids are never reused after a delete (SQLite would otherwise): links, caches and media
    # folders keyed by id must not end up showing another story.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    class_name: Mapped[str] = mapped_column(Text, index=True)
    language: Mapped[str] = mapped_column(String(64), index=True)
    duration: Mapped[float] = mapped_column(Float)
    transcript: Mapped[str] = mapped_column(Text)
    style: Mapped[str] = mapped_column(Text)
    characters: Mapped[str] = mapped_column(Text)
    image_model: Mapped[str] = mapped_column(Text)
    image_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    narration_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    frames: Mapped[list[Frame]] = relationship(
        order_by="Frame.index", cascade="all, delete-orphan", passive_deletes=True
    )


class Frame(Base):
    __tablename__ = "frames"
    __table_args__ = (UniqueConstraint("story_id", "index"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text)
    image_path: Mapped[str | None] = mapped_column(Text)
    thumb_path: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Whisper's word times as [[start, end, word], ...]; frames saved before 0002 have none.
    words: Mapped[list[list[Any]]] = mapped_column(JSON, server_default="[]")


# --- the library -------------------------------------------------------------------------------
class Library:
    """All stories of one data folder. Thread-safe: share one instance across the app."""

    def __init__(self, settings: Settings):
        self.data_dir = Path(settings.data_dir).resolve()
        self.media_dir = self.data_dir / "media"
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self.engine = _create_engine(settings.db_url)
        # Writers announce themselves so SQLite takes its write lock at BEGIN (see _sqlite_begin).
        writer = self.engine.execution_options(s2i_writer=True)
        self._reading = sessionmaker(self.engine)
        self._writing = sessionmaker(writer)
        event.listen(self._writing, "before_flush", _drop_nul_characters)
        self._upgrade_schema(writer)

    @classmethod
    def open(cls, settings: Settings) -> Library:
        return cls(settings)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _upgrade_schema(self, writer: Engine) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        # One transaction around the whole upgrade: a second process opening the library at the
        # same moment waits for it, then finds the schema at head.
        with writer.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK_ID})"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    # --- stories -------------------------------------------------------------------------------
    def create_story(
        self,
        title: str,
        class_name: str = "",
        language: str = "",
        duration: float = 0.0,
        transcript: str = "",
        style: str = "",
        characters: str = "",
        image_model: str = "",
        image_params: dict[str, Any] | None = None,
        seed: int = 0,
        narration: bytes | None = None,
        narration_ext: str = "webm",
    ) -> StoryRecord:
        narration_name = f"narration.{_narration_suffix(narration_ext)}"
        now = _now()
        story = Story(
            title=title,
            class_name=class_name,
            language=language,
            duration=duration,
            transcript=transcript,
            style=style,
            characters=characters,
            image_model=image_model,
            image_params=dict(image_params or {}),
            seed=seed,
            status="draft",
            created_at=now,
            updated_at=now,
            frames=[],
        )
        with self._writing.begin() as session:
            session.add(story)
            session.flush()
            if narration is not None:
                story.narration_path = self._write_media(story.id, narration_name, narration)
            return _story_record(story)

    def update_story(self, story_id: int, **fields: Any) -> StoryRecord:
        unknown = set(fields) - EDITABLE_STORY_FIELDS
        if unknown:
            raise ValueError(f"Stories have no editable field(s) {sorted(unknown)}.")
        if "status" in fields:
            _check_status(fields["status"], STORY_STATUSES, "story")
        with self._writing.begin() as session:
            story = _get_story(session, story_id)
            for name, value in fields.items():
                setattr(story, name, dict(value or {}) if name == "image_params" else value)
            story.updated_at = _now()
            return _story_record(story)

    def refresh_story_status(self, story_id: int) -> str:
        """Set the story's status from its frames (complete, incomplete, draft) and return it."""
        with self._writing.begin() as session:
            story = _get_story(session, story_id)
            story.status = _derived_status(story)
            story.updated_at = _now()
            return story.status

    def get_story(self, story_id: int) -> StoryRecord:
        with self._reading() as session:
            return _story_record(_get_story(session, story_id))

    def delete_story(self, story_id: int) -> None:
        with self._writing.begin() as session:
            deleted = session.execute(delete(Story).where(Story.id == story_id)).rowcount
        if not deleted:
            raise _story_not_found(story_id)
        shutil.rmtree(self.media_dir / str(int(story_id)), ignore_errors=True)

    def list_stories(
        self,
        query: str = "",
        class_name: str | None = None,
        language: str | None = None,
        limit: int = 24,
        offset: int = 0,
    ) -> list[StorySummary]:
        """Stories newest first. ``query`` words must all appear (any case) in the title, the
        transcript or a frame's caption."""
        of_story = Frame.story_id == Story.id
        frame_count = select(func.count(Frame.id)).where(of_story).scalar_subquery()
        done = select(func.count(Frame.id)).where(of_story, Frame.status == "done")
        cover = (
            select(func.coalesce(Frame.thumb_path, Frame.image_path))
            .where(of_story, Frame.status == "done")
            .order_by(Frame.index)
            .limit(1)
        )
        statement = (
            select(
                Story.id,
                Story.title,
                Story.class_name,
                Story.created_at,
                Story.language,
                frame_count,
                done.scalar_subquery(),
                Story.status,
                cover.scalar_subquery(),
            )
            .where(*_story_filters(query, class_name, language))
            .order_by(Story.created_at.desc(), Story.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._reading() as session:
            rows = session.execute(statement).all()
        return [
            StorySummary(
                id=row[0],
                title=row[1],
                class_name=row[2],
                created_at=_utc(row[3]),
                language=row[4],
                frame_count=row[5],
                done_count=row[6],
                status=row[7],
                cover_thumb_path=row[8],
            )
            for row in rows
        ]

    def count_stories(
        self, query: str = "", class_name: str | None = None, language: str | None = None
    ) -> int:
        statement = select(func.count(Story.id)).where(*_story_filters(query, class_name, language))
        with self._reading() as session:
            return session.scalar(statement) or 0

    def class_names(self) -> list[str]:
        return self._distinct(Story.class_name)

    def languages(self) -> list[str]:
        return self._distinct(Story.language)

    def _distinct(self, column: Any) -> list[str]:
        statement = select(column).where(column != "").distinct().order_by(column)
        with self._reading() as session:
            return list(session.scalars(statement))

    # --- frames --------------------------------------------------------------------------------
    def set_frames(self, story_id: int, drafts: list[FrameDraft]) -> list[FrameRecord]:
        """Replace all frames of a story; the old frames' pictures are deleted."""
        indices = [draft.index for draft in drafts]
        if len(set(indices)) != len(indices):
            raise ValueError("Each frame of a story needs its own index.")
        now = _now()
        with self._writing.begin() as session:
            story = _get_story(session, story_id)
            old_files = [path for frame in story.frames for path in _frame_files(frame)]
            story.frames.clear()
            session.flush()  # the old rows must be gone before new ones reuse their indices
            story.frames.extend(_new_frame(d, now) for d in sorted(drafts, key=lambda d: d.index))
            story.updated_at = now
            session.flush()
            records = [_frame_record(frame) for frame in story.frames]
        self._remove_files(old_files)
        return records

    def add_frame(self, story_id: int, draft: FrameDraft) -> FrameRecord:
        now = _now()
        with self._writing.begin() as session:
            story = _get_story(session, story_id)
            if any(frame.index == draft.index for frame in story.frames):
                raise StorageError(
                    f"Story {story_id} already has a frame number {draft.index}. "
                    "Choose another number or edit that frame instead."
                )
            frame = _new_frame(draft, now)
            story.frames.append(frame)
            story.updated_at = now
            session.flush()
            return _frame_record(frame)

    def update_frame_text(
        self,
        frame_id: int,
        text: str | None = None,
        text_en: str | None = None,
        prompt: str | None = None,
        words: Iterable[WordTime] | None = None,
    ) -> FrameRecord:
        """Change what is given; ``words=()`` drops the word times of a reworded sentence."""
        changes = {"text": text, "text_en": text_en, "prompt": prompt}
        with self._writing.begin() as session:
            frame = _get_frame(session, frame_id)
            for name, value in changes.items():
                if value is not None:
                    setattr(frame, name, value)
            if words is not None:
                frame.words = _words_json(words)
            frame.updated_at = _now()
            return _frame_record(frame)

    def save_frame_result(
        self,
        frame_id: int,
        status: str,
        image: bytes | None = None,
        thumbnail: bytes | None = None,
        error: str = "",
        seed: int | None = None,
    ) -> FrameRecord:
        """Record one generation attempt. A new picture replaces the frame's old one; without a
        new picture (a failure, the filter) the last good picture, if any, is kept."""
        _check_status(status, FRAME_STATUSES, "frame")
        if status == "done" and image is None:
            raise ValueError("A frame can only be saved as done together with its picture.")
        with self._reading() as session:
            story_id = session.scalar(select(Frame.story_id).where(Frame.id == frame_id))
        if story_id is None:
            raise _frame_not_found(frame_id)

        new_paths: dict[str, str] = {}
        if image is not None:
            name = f"frame-{frame_id}{_image_suffix(image)}"
            new_paths["image_path"] = self._write_media(story_id, name, image)
        if thumbnail is not None:
            name = f"frame-{frame_id}-thumb{_image_suffix(thumbnail)}"
            new_paths["thumb_path"] = self._write_media(story_id, name, thumbnail)

        now = _now()
        try:
            with self._writing.begin() as session:
                frame = _get_frame(session, frame_id)
                replaced = [
                    old
                    for field, new in new_paths.items()
                    if (old := getattr(frame, field)) and old != new
                ]
                for field, new in new_paths.items():
                    setattr(frame, field, new)
                frame.status = status
                frame.error = error
                frame.attempts += 1
                frame.updated_at = now
                if seed is not None:
                    frame.seed = seed
                record = _frame_record(frame)
        except FrameNotFoundError:  # the story was deleted while its picture was being made
            self._remove_files(new_paths.values())
            raise
        self._remove_files(replaced)
        return record

    def pending_frames(self, story_id: int) -> list[FrameRecord]:
        """Frames still without a picture (anything not done), in story order."""
        story = self.get_story(story_id)
        return [frame for frame in story.frames if frame.status != "done"]

    def recover_interrupted(self, temp_older_than: float = 0.0) -> int:
        """Call once when the app starts: stories a crash left "generating" get their status from
        their frames, and half-written temporary files are removed. Returns the stories fixed.

        Where several app processes share the media folder, pass ``temp_older_than`` (seconds) so
        a restarting one leaves alone the files another is writing at that moment. A story status
        flipped while another process still draws it is set right when that drawing ends."""
        with self._writing.begin() as session:
            stories = session.scalars(
                select(Story)
                .where(Story.status == "generating")
                .options(selectinload(Story.frames))
            ).all()
            for story in stories:
                story.status = _derived_status(story)
                story.updated_at = _now()
        cutoff = time.time() - temp_older_than
        for leftover in self.media_dir.rglob("*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime <= cutoff:
                    leftover.unlink()
        return len(stories)

    # --- files ---------------------------------------------------------------------------------
    def path(self, rel: str) -> Path:
        """The absolute path of a stored relative path; refuses anything outside the data folder."""
        candidate = (self.data_dir / rel).resolve()
        if not candidate.is_relative_to(self.data_dir):
            raise StorageError(
                f"The stored file path {rel!r} points outside the data folder; it was not opened."
            )
        return candidate

    def _write_media(self, story_id: int, name: str, data: bytes) -> str:
        folder = self.media_dir / str(int(story_id))
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return (folder / name).relative_to(self.data_dir).as_posix()

    def _remove_files(self, rel_paths: Iterable[str]) -> None:
        for rel in rel_paths:
            self.path(rel).unlink(missing_ok=True)


# --- engine ------------------------------------------------------------------------------------
def _create_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own BEGIN handling would skip DDL and start write transactions too late;
    # SQLAlchemy's documented recipe is to switch it off and emit BEGIN in _sqlite_begin.
    dbapi_connection.isolation_level = None
    # SQLite's lower() only folds ASCII; searches must also match "Мальчик" with "мальчик".
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between; taking the write lock up front waits instead.
    writer = connection.get_execution_options().get("s2i_writer", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _drop_nul_characters(session: Session, _context: Any, _instances: Any) -> None:
    # PostgreSQL text cannot hold NUL (SQLite can); it is never meaningful in typed text, so it is
    # dropped on every database alike instead of failing the save on one of them.
    for row in (*session.new, *session.dirty):
        for column in row.__table__.columns:
            value = getattr(row, column.key, None)
            if isinstance(value, str) and "\x00" in value:
                setattr(row, column.key, value.replace("\x00", ""))


# --- helpers -----------------------------------------------------------------------------------
def _story_filters(query: str, class_name: str | None, language: str | None) -> list[Any]:
    filters: list[Any] = []
    if class_name is not None:
        filters.append(Story.class_name == class_name)
    if language is not None:
        filters.append(Story.language == language)
    for word in query.replace("\x00", "").split():
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"
        in_frames = exists().where(
            Frame.story_id == Story.id,
            or_(Frame.text.ilike(pattern, escape="\\"), Frame.text_en.ilike(pattern, escape="\\")),
        )
        filters.append(
            or_(
                Story.title.ilike(pattern, escape="\\"),
                Story.transcript.ilike(pattern, escape="\\"),
                in_frames,
            )
        )
    return filters


def _get_story(session: Session, story_id: int) -> Story:
    story = session.get(Story, story_id, options=[selectinload(Story.frames)])
    if story is None:
        raise _story_not_found(story_id)
    return story


def _get_frame(session: Session, frame_id: int) -> Frame:
    frame = session.get(Frame, frame_id)
    if frame is None:
        raise _frame_not_found(frame_id)
    return frame


def _story_not_found(story_id: int) -> StoryNotFoundError:
    return StoryNotFoundError(
        f"Story {story_id} is not in the library; it may have been deleted. "
        "Go back to the library and pick another story."
    )


def _frame_not_found(frame_id: int) -> FrameNotFoundError:
    return FrameNotFoundError(
        f"Frame {frame_id} is not in the library; its story may have been deleted or re-split. "
        "Reload the story and try again."
    )


def _new_frame(draft: FrameDraft, now: datetime) -> Frame:
    return Frame(
        index=draft.index,
        start=draft.start,
        end=draft.end,
        text=draft.text,
        text_en=draft.text_en,
        prompt=draft.prompt,
        words=_words_json(draft.words),
        status="pending",
        error="",
        seed=0,
        attempts=0,
        created_at=now,
        updated_at=now,
    )


def _words_json(words: Iterable[WordTime]) -> list[list[Any]]:
    return [[float(start), float(end), str(word)] for start, end, word in words]


def _derived_status(story: Story) -> str:
    if not story.frames:
        return "draft"
    return "complete" if all(f.status == "done" for f in story.frames) else "incomplete"


def _frame_files(frame: Frame) -> list[str]:
    return [path for path in (frame.image_path, frame.thumb_path) if path]


def _check_status(status: str, allowed: tuple[str, ...], kind: str) -> None:
    if status not in allowed:
        raise ValueError(f"{status!r} is not a {kind} status; use one of {', '.join(allowed)}.")


def _image_suffix(data: bytes) -> str:
    try:
        kind = Image.open(io.BytesIO(data)).format
    except UnidentifiedImageError:
        kind = None
    if kind not in IMAGE_SUFFIXES:
        raise StorageError("The picture to save is not a PNG, JPEG or WebP image; it was not kept.")
    return IMAGE_SUFFIXES[kind]


def _narration_suffix(ext: str) -> str:
    suffix = ext.lower().lstrip(".")
    if not re.fullmatch(r"[a-z0-9]{1,5}", suffix):
        raise ValueError(f"{ext!r} is not an audio file extension such as webm, wav or mp3.")
    return suffix


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _frame_record(frame: Frame) -> FrameRecord:
    return FrameRecord(
        id=frame.id,
        story_id=frame.story_id,
        index=frame.index,
        start=float(frame.start),
        end=float(frame.end),
        text=frame.text,
        text_en=frame.text_en,
        prompt=frame.prompt,
        status=frame.status,
        error=frame.error,
        image_path=frame.image_path,
        thumb_path=frame.thumb_path,
        seed=frame.seed,
        attempts=frame.attempts,
        updated_at=_utc(frame.updated_at),
        words=tuple((float(start), float(end), str(word)) for start, end, word in frame.words),
    )


def _story_record(story: Story) -> StoryRecord:
    return StoryRecord(
        id=story.id,
        title=story.title,
        class_name=story.class_name,
        created_at=_utc(story.created_at),
        updated_at=_utc(story.updated_at),
        language=story.language,
        duration=float(story.duration),
        transcript=story.transcript,
        style=story.style,
        characters=story.characters,
        image_model=story.image_model,
        image_params=dict(story.image_params or {}),
        seed=story.seed,
        status=story.status,
        narration_path=story.narration_path,
        frames=[_frame_record(frame) for frame in story.frames],
    )
