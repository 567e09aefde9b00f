"""``Library``: opening a data folder, its stories, and the library's searches."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, exists, func, or_, select, update
from sqlalchemy.orm import sessionmaker

from ..settings import Settings
from .access import Viewer, first_admin, story_filter
from .characters import CharacterMethods
from .claims import ClaimMethods
from .database import drop_nul_characters, open_engine, upgrade_schema, writer_of
from .frames import FrameMethods
from .job_table import work_waiting
from .media import MediaFiles, narration_suffix
from .records import (
    StoryRecord,
    StorySummary,
    shown_status,
    story_record,
    utc,
)
from .request_slots import SharedRateLimiter
from .search import like_pattern, query_words
from .tables import (
    ClassroomSetting,
    Frame,
    Story,
    derived_status,
    get_story,
    now,
    set_story_fields,
    story_not_found,
)
from .versions import VersionMethods


class Library(FrameMethods, ClaimMethods, CharacterMethods, VersionMethods):
    """All stories of one data folder. Thread-safe: share one instance across the app."""

    def __init__(self, settings: Settings):
        self.data_dir = Path(settings.data_dir).resolve()
        self.media = MediaFiles(self.data_dir)
        self.media_dir = self.media.root
        self.engine = open_engine(settings.db_url)
        writer = writer_of(self.engine)
        self._reading = sessionmaker(self.engine)
        self._writing = sessionmaker(writer)
        event.listen(self._writing, "before_flush", drop_nul_characters)
        upgrade_schema(writer, self.data_dir, first_admin(settings))

    @classmethod
    def open(cls, settings: Settings) -> Library:
        return cls(settings)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request_limiter(
        self, api_key: str, max_per_window: int, window_s: float = 60.0
    ) -> SharedRateLimiter:
        """The request rate of ``api_key``, shared by every process using this database."""
        return SharedRateLimiter(self.engine, api_key, max_per_window, window_s)

    def path(self, rel: str) -> Path:
        """The absolute path of a stored relative path; refuses anything outside the data folder."""
        return self.media.path(rel)

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
        word_list: list[str] | tuple[str, ...] | None = None,
        narration: bytes | None = None,
        narration_ext: str = "webm",
        sentences_missing: bool = False,
        owner: str = "",
    ) -> StoryRecord:
        """A new draft. ``sentences_missing``: its frames are still to come from the narration
        (a streamed storyboard), so until they all have come it is never complete. ``owner``:
        the signed-in teacher who made it ("" the classroom's own teacher)."""
        narration_name = f"narration.{narration_suffix(narration_ext)}"
        moment = now()
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
            word_list=None if word_list is None else list(word_list),
            status="draft",
            sentences_missing=sentences_missing,
            owner=owner,
            created_at=moment,
            updated_at=moment,
            frames=[],
        )
        with self._writing.begin() as session:
            session.add(story)
            session.flush()
            if narration is not None:
                story.narration_path = self.media.write(story.id, narration_name, narration)
            return story_record(story)

    def update_story(self, story_id: int, **fields: Any) -> StoryRecord:
        with self._writing.begin() as session:
            story = get_story(session, story_id)
            set_story_fields(story, fields)
            story.updated_at = now()
            return story_record(story)

    def refresh_story_status(self, story_id: int) -> str:
        """Set the story's status from its frames (complete, incomplete, draft) and return it."""
        with self._writing.begin() as session:
            story = get_story(session, story_id)
            story.status = derived_status(story)
            story.updated_at = now()
            return story.status

    def get_story(self, story_id: int) -> StoryRecord:
        with self._reading() as session:
            record = story_record(get_story(session, story_id))
            if record.status != "interrupted":
                return record
            queued = bool(session.scalar(select(work_waiting(story_id))))
            return dataclasses.replace(record, status="queued") if queued else record

    def delete_story(self, story_id: int) -> None:
        with self._writing.begin() as session:
            deleted = session.execute(delete(Story).where(Story.id == story_id)).rowcount
        if not deleted:
            raise story_not_found(story_id)
        self.media.remove_story(story_id)

    # --- searches ------------------------------------------------------------------------------
    def list_stories(
        self,
        query: str = "",
        class_name: str | None = None,
        language: str | None = None,
        limit: int = 24,
        offset: int = 0,
        viewer: Viewer | None = None,
        watchable: bool = False,
    ) -> list[StorySummary]:
        """Stories newest first. ``query`` words must all appear, in any case and with or
        without accents (see search.py), in the title, the class, the transcript or a frame's
        sentence or its English line. ``viewer``: only the stories they may see.
        ``watchable``: only stories a student can replay: every sentence heard and its pictures
        asked for, not drafts still being heard or checked."""
        statement = (
            select(*_summary_columns())
            .where(*_story_filters(query, class_name, language, watchable), story_filter(viewer))
            .order_by(Story.created_at.desc(), Story.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._reading() as session:
            return [_summary(row) for row in session.execute(statement).all()]

    def count_stories(
        self,
        query: str = "",
        class_name: str | None = None,
        language: str | None = None,
        viewer: Viewer | None = None,
        watchable: bool = False,
    ) -> int:
        filters = (*_story_filters(query, class_name, language, watchable), story_filter(viewer))
        statement = select(func.count(Story.id)).where(*filters)
        with self._reading() as session:
            return session.scalar(statement) or 0

    # --- classroom settings (the word list), changed by teachers in the app ---------------------
    def classroom_setting(self, key: str, default: Any = None) -> Any:
        with self._reading() as session:
            row = session.get(ClassroomSetting, key)
            return default if row is None else row.value

    def set_classroom_setting(self, key: str, value: Any) -> None:
        with self._writing.begin() as session:
            row = session.get(ClassroomSetting, key)
            if row is None:
                session.add(ClassroomSetting(key=key, value=value, updated_at=now()))
            else:
                row.value, row.updated_at = value, now()

    def class_names(self, viewer: Viewer | None = None) -> list[str]:
        return self._distinct(Story.class_name, viewer)

    def languages(self, viewer: Viewer | None = None) -> list[str]:
        return self._distinct(Story.language, viewer)

    def adopt_unowned(self, owner: str) -> int:
        """Stories made before anyone signed in (owner "") become ``owner``'s: the first admin's
        when a school switches from the passcode to sign-in."""
        with self._writing.begin() as session:
            adopted = session.execute(update(Story).where(Story.owner == "").values(owner=owner))
            return adopted.rowcount

    def _distinct(self, column: Any, viewer: Viewer | None = None) -> list[str]:
        statement = select(column).where(column != "", story_filter(viewer))
        statement = statement.distinct().order_by(column)
        with self._reading() as session:
            return list(session.scalars(statement))


def _summary_columns() -> tuple[Any, ...]:
    """What a library card shows, read in one query: the story's own columns, its frame counts,
    its cover (the first drawn frame's thumbnail) and whether work on it waits in the queue."""
    of_story = Frame.story_id == Story.id
    frame_count = select(func.count(Frame.id)).where(of_story)
    done = select(func.count(Frame.id)).where(of_story, Frame.status == "done")
    cover = (
        select(func.coalesce(Frame.thumb_path, Frame.image_path))
        .where(of_story, Frame.status == "done")
        .order_by(Frame.index)
        .limit(1)
    )
    return (
        Story.id,
        Story.title,
        Story.class_name,
        Story.created_at,
        Story.language,
        frame_count.scalar_subquery(),
        done.scalar_subquery(),
        Story.status,
        cover.scalar_subquery(),
        Story.lease_until,
        Story.worker,
        Story.sentences_missing,
        Story.owner,
        Story.shared,
        work_waiting(Story.id),
    )


def _summary(row: Any) -> StorySummary:
    """A row of ``_summary_columns`` as the card it is."""
    return StorySummary(
        id=row[0],
        title=row[1],
        class_name=row[2],
        created_at=utc(row[3]),
        language=row[4],
        frame_count=row[5],
        done_count=row[6],
        status=shown_status(row[7], row[9], row[10], row[11], row[14]),
        cover_thumb_path=row[8],
        owner=row[12],
        shared=bool(row[13]),
    )


def _story_filters(
    query: str, class_name: str | None, language: str | None, watchable: bool = False
) -> list[Any]:
    filters: list[Any] = []
    if watchable:  # every sentence heard, and its pictures asked for (not a draft being checked)
        asked = exists().where(Frame.story_id == Story.id, Frame.status != "pending")
        filters += [Story.sentences_missing.is_(False), asked]
    if class_name is not None:
        filters.append(Story.class_name == class_name)
    if language is not None:
        filters.append(Story.language == language)
    for word in query_words(query):
        pattern = like_pattern(word)
        in_frames = exists().where(
            Frame.story_id == Story.id, Frame.search_text.like(pattern, escape="\\")
        )
        filters.append(or_(Story.search_text.like(pattern, escape="\\"), in_frames))
    return filters
