"""Versions of stories and frames, and saves that name the version they were based on.

A frame's ``version`` goes up by one whenever its words change (the sentence, its English line,
its scene, its prompt, its times or place), whoever changes them; a story's whenever its details
change (title, notes, style, bible, picture settings). A picture drawn, a claim or a status never
moves a version: a teacher editing a sentence while its picture is drawn is no conflict.

The methods below are compare-and-set: each names the versions it read, and saves only while they
are still the versions there, in one transaction; otherwise nothing is saved and
``StaleVersionError`` is raised, for the caller to read the rows again and decide (which words
are whose is story/revisions.py's business, not storage's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import StaleVersionError
from ..i18n import msg
from .media import MediaFiles
from .records import FrameDraft, FrameRecord, StoryRecord, frame_record, story_record
from .tables import Frame, Story, frame_files, get_story, new_frame, now, words_json

FRAME_WORDS = (
    "index",
    "start",
    "end",
    "text",
    "text_en",
    "prompt",
    "words",
    "scene",
    "scene_source",
)
STORY_DETAILS = (
    "title",
    "class_name",
    "language",
    "style",
    "characters",
    "image_model",
    "image_params",
    "seed",
    "bible",
)


def _bump_on_change(row: Frame | Story, value: Any, old: Any, _initiator: Any) -> None:
    """A versioned attribute set on a saved row: its version goes up by one, once per
    transaction (each of the library's methods loads its rows afresh in a session of its own)."""
    state = inspect(row)
    if not state.persistent or value == old or state.info.get("bumped"):
        return
    state.info["bumped"] = True
    row.version = (row.version or 1) + 1


for _table, _names in ((Frame, FRAME_WORDS), (Story, STORY_DETAILS)):
    for _name in _names:
        event.listen(getattr(_table, _name), "set", _bump_on_change)


@dataclass(frozen=True)
class SentenceEdits:
    """One save of a story's sentences: each frame it changes or removes named with the version
    it read. Places are given by time: after the save the frames are numbered by their start."""

    story_id: int
    expected: Mapping[int, int]  # frame id -> the version this save read, for every frame below
    updates: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)  # id -> new words
    deletes: tuple[int, ...] = ()  # frames merged into another, or deleted
    inserts: tuple[FrameDraft, ...] = ()  # new sentences (the second half of a split)


class VersionMethods:
    """Mixed into ``Library``, which provides the sessions and the media folder."""

    media: MediaFiles
    _writing: sessionmaker

    def save_frame_words(self, frame_id: int, version: int, **words: Any) -> FrameRecord:
        """Change a frame's words (FRAME_WORDS) if it is still at ``version``."""
        _check_names(words, FRAME_WORDS)
        with self._writing.begin() as session:
            frame = session.get(Frame, frame_id, with_for_update=True)
            _expect(frame, version, msg("Frame {id}", id=frame_id))
            _set_words(frame, words)
            frame.updated_at = now()
            return frame_record(frame)

    def save_story_details(self, story_id: int, version: int, **details: Any) -> StoryRecord:
        """Change a story's details (STORY_DETAILS) if it is still at ``version``."""
        _check_names(details, STORY_DETAILS)
        with self._writing.begin() as session:
            story = session.get(Story, story_id, with_for_update=True)
            _expect(story, version, msg("Story {id}", id=story_id))
            for name, value in details.items():
                json_field = name in ("image_params", "bible")
                setattr(story, name, dict(value or {}) if json_field else value)
            story.updated_at = now()
            return story_record(get_story(session, story_id))

    def save_sentences(self, edits: SentenceEdits) -> StoryRecord:
        """Apply one save of a story's sentences, all of it or (StaleVersionError) none of it;
        the frames are numbered again by time and the transcript follows them."""
        moment = now()
        with self._writing.begin() as session:
            # PostgreSQL: the story's row and its frames' rows are this save's until it ends
            # (SQLite: the writer's BEGIN IMMEDIATE already makes it the only writer)
            session.execute(select(Story.id).where(Story.id == edits.story_id).with_for_update())
            session.scalars(
                select(Frame).where(Frame.story_id == edits.story_id).with_for_update()
            ).all()
            story = get_story(session, edits.story_id)
            frames = {frame.id: frame for frame in story.frames}
            for frame_id, version in edits.expected.items():
                _expect(frames.get(frame_id), version, msg("Frame {id}", id=frame_id))
            for frame_id, words in edits.updates.items():
                _check_names(words, FRAME_WORDS)
                _set_words(frames[frame_id], words)
                frames[frame_id].updated_at = moment
            removed = [path for i in edits.deletes for path in frame_files(frames[i])]
            for frame_id in edits.deletes:
                story.frames.remove(frames[frame_id])
            story.frames.extend(new_frame(draft, moment) for draft in edits.inserts)
            _number_by_time(session, story)
            story.transcript = " ".join(frame.text for frame in story.frames)
            story.updated_at = moment
            session.flush()
            record = story_record(story)
        self.media.remove(removed)
        return record


def _number_by_time(session: Session, story: Story) -> None:
    """Number the frames by their start (their number breaks ties: a split's halves stay in
    order); two steps, as each number is unique within a story."""
    ordered = sorted(story.frames, key=lambda f: (f.start, f.index if f.id else 10**9, f.end))
    moving = [(place, f) for place, f in enumerate(ordered) if f.index != place or f.id is None]
    for place, frame in moving:
        frame.index = -1 - place
    session.flush()
    for place, frame in moving:
        frame.index = place
    story.frames.sort(key=lambda f: f.index)


def _expect(row: Frame | Story | None, version: int, what: str) -> None:
    if row is None:
        raise StaleVersionError(
            msg("{what} was deleted meanwhile; read the story again.", what=what)
        )
    if (row.version or 1) != version:
        raise StaleVersionError(
            msg(
                "{what} changed meanwhile (version {now}, not {version}); read it again.",
                what=what,
                now=row.version,
                version=version,
            )
        )


def _set_words(frame: Frame, words: Mapping[str, Any]) -> None:
    for name, value in words.items():
        setattr(frame, name, words_json(value) if name == "words" else value)


def _check_names(values: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValueError(f"Only {', '.join(allowed)} can be saved this way, not {sorted(unknown)}.")
