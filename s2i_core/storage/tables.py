"""The tables, and the row lookups and rules the library's methods share.

``../migrations/versions/`` builds the same tables, one numbered step at a time (each step's
docstring says what it changed; ``alembic history`` lists them). Change a table here and add a
migration there (see ``../migrations/env.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)

from ..errors import FrameNotFoundError, StoryNotFoundError
from ..i18n import msg
from .records import (  # noqa: F401 (now: re-exported)
    EDITABLE_STORY_FIELDS,
    STORY_STATUSES,
    FrameDraft,
    WordTime,
    check_status,
    is_held,
    now,
)

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"


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
    # how sure speech recognition was of the language (1.0 when given); None: not heard yet
    language_probability: Mapped[float | None] = mapped_column(Float)
    duration: Mapped[float] = mapped_column(Float)
    transcript: Mapped[str] = mapped_column(Text)
    style: Mapped[str] = mapped_column(Text)
    characters: Mapped[str] = mapped_column(Text)
    image_model: Mapped[str] = mapped_column(Text)
    # the picture settings, a versioned record (s2i_core.pictures.models.ImageParams.record)
    image_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    # the classroom word list the story is checked against; None: the default list
    word_list: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    narration_path: Mapped[str | None] = mapped_column(Text)
    sentences_missing: Mapped[bool] = mapped_column(Boolean, server_default=false())
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(Text)  # host:pid holding the lease
    # characters with their looks and the setting, shared by every frame (s2i_core.story.bible)
    bible: Mapped[dict[str, Any]] = mapped_column(JSON, server_default="{}")
    # who made it: a signed-in teacher's e-mail; "" the classroom's own teacher (passcode mode)
    owner: Mapped[str] = mapped_column(Text, index=True, server_default="")
    shared: Mapped[bool] = mapped_column(Boolean, server_default=false())  # with the school
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # title, class and transcript folded for search (kept in step by search.py)
    search_text: Mapped[str] = mapped_column(Text, server_default="")
    # one more on every change of its details (versions.py): a teacher's save names the one it saw
    version: Mapped[int] = mapped_column(Integer, server_default="1", default=1)

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
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(Text)  # host:pid holding the claim
    scene: Mapped[str] = mapped_column(Text, server_default="")
    scene_source: Mapped[str] = mapped_column(String(16), server_default="")
    search_text: Mapped[str] = mapped_column(Text, server_default="")  # text and text_en, folded
    # one more on every change of its words (sentence, English line, scene, prompt, times; see
    # versions.py), never for a picture: a save names the one it saw, a drawing the one it drew
    version: Mapped[int] = mapped_column(Integer, server_default="1", default=1)

    # The picture shown (one of ``pictures``; its files are image_path and thumb_path). No
    # foreign key: pictures are only ever deleted together with their frame.
    picture_id: Mapped[int | None] = mapped_column(Integer)

    pictures: Mapped[list[FramePicture]] = relationship(
        order_by="FramePicture.attempt", cascade="all, delete-orphan", passive_deletes=True
    )


class FramePicture(Base):
    """Every picture a frame ever got: a redo adds one and never removes the others."""

    __tablename__ = "frame_pictures"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    frame_id: Mapped[int] = mapped_column(ForeignKey("frames.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # the frame's attempt that drew it, from 1
    seed: Mapped[int] = mapped_column(BigInteger)
    prompt: Mapped[str] = mapped_column(Text)  # as sent, so an earlier picture can be explained
    model: Mapped[str] = mapped_column(Text)  # the image model that drew it
    # the frame's scene and who wrote it, when drawn; NULL for pictures drawn before 0020
    scene: Mapped[str | None] = mapped_column(Text)
    scene_source: Mapped[str | None] = mapped_column(String(16))
    image_path: Mapped[str] = mapped_column(Text)
    thumb_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClassroomSetting(Base):
    """Settings a teacher changes in the app for the whole library (the classroom word list)."""

    __tablename__ = "classroom_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- lookups and rules shared by the library's methods ---------------------------------------
def get_story(session: Session, story_id: int) -> Story:
    story = session.get(Story, story_id, options=[selectinload(Story.frames)])
    if story is None:
        raise story_not_found(story_id)
    return story


def get_frame(session: Session, frame_id: int) -> Frame:
    frame = session.get(Frame, frame_id)
    if frame is None:
        raise frame_not_found(frame_id)
    return frame


def story_not_found(story_id: int) -> StoryNotFoundError:
    return StoryNotFoundError(
        msg(
            "Story {story_id} is not in the library; it may have been deleted. Go "
            "back to the library and pick another story.",
            story_id=story_id,
        )
    )


def frame_not_found(frame_id: int) -> FrameNotFoundError:
    return FrameNotFoundError(
        msg(
            "Frame {frame_id} is not in the library; its story may have been deleted "
            "or re-split. Reload the story and try again.",
            frame_id=frame_id,
        )
    )


def new_frame(draft: FrameDraft, created: datetime) -> Frame:
    return Frame(
        index=draft.index,
        start=draft.start,
        end=draft.end,
        text=draft.text,
        text_en=draft.text_en,
        prompt=draft.prompt,
        words=words_json(draft.words),
        scene=draft.scene,
        scene_source=draft.scene_source,
        status="pending",
        error="",
        seed=0,
        attempts=0,
        created_at=created,
        updated_at=created,
    )


def words_json(words: Iterable[WordTime]) -> list[list[Any]]:
    return [[float(start), float(end), str(word)] for start, end, word in words]


def set_story_fields(story: Story, fields: dict[str, Any]) -> None:
    """Set a story's editable fields (ValueError for any other name or a status not known)."""
    unknown = set(fields) - EDITABLE_STORY_FIELDS
    if unknown:
        raise ValueError(f"Stories have no editable field(s) {sorted(unknown)}.")
    if "status" in fields:
        check_status(fields["status"], STORY_STATUSES, "story")
    for name, value in fields.items():
        if name in ("image_params", "bible"):
            value = dict(value or {})
        elif name == "word_list" and value is not None:
            value = list(value)
        setattr(story, name, value)


def derived_status(story: Story, interrupted: bool = False) -> str:
    """The status once nobody works on the story: complete only when the whole narration has
    its frames and every frame its picture. ``interrupted``: the work on it stopped half-way."""
    if any(is_claimed(frame) for frame in story.frames):
        return "generating"  # another worker still draws some of its frames
    if story.sentences_missing:
        return "interrupted"
    if not story.frames:
        return "draft"
    if all(frame.status == "done" for frame in story.frames):
        return "complete"
    died = any(frame.status == "drawing" for frame in story.frames)  # its lease ran out
    return "interrupted" if interrupted or died else "incomplete"


def is_claimed(frame: Frame) -> bool:
    return frame.status == "drawing" and is_held(frame.lease_until, frame.worker)


def release(frame: Frame) -> None:
    """End a claim without a result: a frame with its picture is done again, any other waits."""
    frame.status = "done" if frame.picture_id is not None else "pending"
    frame.lease_until = frame.worker = None


def picture_files(picture: FramePicture) -> list[str]:
    return [path for path in (picture.image_path, picture.thumb_path) if path]


def show(frame: Frame, picture: FramePicture, its_prompt: bool = True) -> None:
    """Make ``picture`` the one the frame shows: its picture is done, whatever came before.
    ``its_prompt``: the frame takes the prompt and the scene it was drawn from (an earlier try
    chosen again: a redo draws it again, and the boxes, the "Picture:" line and the exports say
    what it shows); not for a picture just drawn, whose frame may have newer words."""
    frame.picture_id = picture.id
    frame.image_path, frame.thumb_path = picture.image_path, picture.thumb_path
    frame.seed = picture.seed
    if its_prompt and picture.prompt:
        frame.prompt = picture.prompt
    # a picture drawn before 0020 kept no scene (NULL): the frame keeps the scene it has now
    if its_prompt and picture.scene is not None:
        frame.scene, frame.scene_source = picture.scene, picture.scene_source or ""
    frame.status, frame.error = "done", ""


def frame_files(frame: Frame) -> list[str]:
    """Every file of a frame: what it shows and every picture it ever had."""
    paths = [frame.image_path, frame.thumb_path]
    paths += [
        path for picture in frame.pictures for path in (picture.image_path, picture.thumb_path)
    ]
    return list(dict.fromkeys(path for path in paths if path))
