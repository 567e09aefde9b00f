"""The frozen records the library hands to callers, and how they are made from table rows."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tables import Frame, FramePicture, Story

# "drawing": claimed by a worker until its lease runs out (see claims.py); saved results end it.
FRAME_STATUSES = ("pending", "drawing", "done", "filtered", "failed", "no_backend")
# "interrupted": the work on it stopped half-way (killed, disk full, tab closed); finishing it
# transcribes the narration again if sentences are missing, then draws what is missing.
STORY_STATUSES = ("draft", "generating", "complete", "incomplete", "interrupted")
# Shown, never stored: "queued", a story that would read as interrupted but has work waiting for a
# worker (a story just queued with `story --enqueue` has no sentences yet; see shown_status).
EDITABLE_STORY_FIELDS = frozenset(
    {
        "title",
        "class_name",
        "language",
        "language_probability",
        "duration",
        "transcript",
        "style",
        "characters",
        "image_model",
        "image_params",
        "seed",
        "word_list",
        "status",
        "sentences_missing",
        "bible",
        "owner",
        "shared",
    }
)
MAX_ID = 2**63 - 1  # the largest id a database row can hold (SQLite and PostgreSQL BIGINT)
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
    scene: str = ""  # what the picture shows, in English (the scene writer's or the teacher's)
    scene_source: str = ""  # llm | offline | teacher: who wrote the scene


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
    scene: str = ""
    scene_source: str = ""
    picture_id: int | None = None  # the PictureRecord shown; None: no picture drawn yet
    version: int = 1  # of its words (see versions.py): what a save or a drawing was based on


@dataclass(frozen=True)
class PictureRecord:
    """One picture a frame got. A redo adds one; the teacher can show any of them again."""

    id: int
    frame_id: int
    attempt: int  # the frame's attempt that drew it, from 1
    seed: int  # the same seed, prompt and model draw the same picture again
    prompt: str
    model: str
    image_path: str
    thumb_path: str | None
    created_at: datetime
    scene: str | None = None  # the frame's scene when drawn; None: drawn before scenes were kept
    scene_source: str | None = None


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
    sentences_missing: bool = False  # the narration has not all become frames yet
    # the story bible: {"characters": [{"name", "look"}], "setting", "source", "path", "notice"}
    bible: dict[str, Any] = field(default_factory=dict)
    language_probability: float | None = None  # how sure the language is (see speech.base)
    word_list: tuple[str, ...] | None = None  # the classroom word list; None: the default one
    owner: str = ""  # a signed-in teacher's e-mail; "" the classroom's own teacher
    shared: bool = False  # shared with the school: every teacher sees and edits it
    version: int = 1  # of its details (see versions.py): what a teacher's save was based on


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
    owner: str = ""
    shared: bool = False


def parse_id(text: str, low: int = 1) -> int | None:
    """An id typed by a person or read from an address: ASCII digits ("²" and "٣" are digits to
    Python, not to a database) from ``low`` to ``MAX_ID``; None for anything else."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= MAX_ID else None


def check_status(status: str, allowed: tuple[str, ...], kind: str) -> None:
    if status not in allowed:
        raise ValueError(f"{status!r} is not a {kind} status; use one of {', '.join(allowed)}.")


def utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def shown_status(
    status: str,
    lease_until: datetime | None,
    worker: str | None,
    sentences_missing: bool,
    queued: bool = False,
) -> str:
    """A story nobody works on whose worker died (killed, crashed) or whose narration has not
    all become frames is interrupted, unless its work is ``queued`` (a job waits for a worker,
    or a worker is about to start it): then it is "queued"."""
    if (status == "generating" or sentences_missing) and not is_held(lease_until, worker):
        return "queued" if queued else "interrupted"
    return status


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"  # after a fork, the child's own pid


def now() -> datetime:
    """The storage's clock, for leases and timestamps: ``clock`` unless a test sets another."""
    return clock()


def _utc_now() -> datetime:
    return datetime.now(UTC)


clock: Callable[[], datetime] = _utc_now


def is_held(lease_until: datetime | None, worker: str | None) -> bool:
    """A lease holds until it runs out, or until its worker is known dead: a process of this
    machine that no longer runs (another machine's workers are trusted until their lease ends)."""
    if lease_until is None or utc(lease_until) <= now():
        return False
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, but another user's
        return True
    return True


def frame_record(frame: Frame) -> FrameRecord:
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
        updated_at=utc(frame.updated_at),
        words=tuple((float(start), float(end), str(word)) for start, end, word in frame.words),
        scene=frame.scene or "",
        scene_source=frame.scene_source or "",
        picture_id=frame.picture_id,
        version=frame.version or 1,
    )


def picture_record(picture: FramePicture) -> PictureRecord:
    return PictureRecord(
        id=picture.id,
        frame_id=picture.frame_id,
        attempt=picture.attempt,
        seed=picture.seed,
        prompt=picture.prompt,
        model=picture.model,
        image_path=picture.image_path,
        thumb_path=picture.thumb_path,
        created_at=utc(picture.created_at),
        scene=picture.scene,
        scene_source=picture.scene_source,
    )


def story_record(story: Story, queued: bool = False) -> StoryRecord:
    return StoryRecord(
        id=story.id,
        title=story.title,
        class_name=story.class_name,
        created_at=utc(story.created_at),
        updated_at=utc(story.updated_at),
        language=story.language,
        duration=float(story.duration),
        transcript=story.transcript,
        style=story.style,
        characters=story.characters,
        image_model=story.image_model,
        image_params=dict(story.image_params or {}),
        seed=story.seed,
        status=shown_status(
            story.status, story.lease_until, story.worker, story.sentences_missing, queued
        ),
        narration_path=story.narration_path,
        frames=[frame_record(frame) for frame in story.frames],
        sentences_missing=story.sentences_missing,
        bible=dict(story.bible or {}),
        language_probability=story.language_probability,
        word_list=None if story.word_list is None else tuple(story.word_list),
        owner=story.owner or "",
        shared=bool(story.shared),
        version=story.version or 1,
    )
