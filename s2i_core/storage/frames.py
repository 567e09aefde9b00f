"""``Library``'s frame methods: the sentences of a story, their pictures, and crash recovery."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload, sessionmaker

from ..errors import FrameNotFoundError, StorageError
from .media import MediaFiles, image_suffix
from .records import (
    FRAME_STATUSES,
    FrameDraft,
    FrameRecord,
    WordTime,
    check_status,
    frame_record,
    is_held,
    this_worker,
)
from .tables import (
    Frame,
    Story,
    derived_status,
    frame_files,
    frame_not_found,
    get_frame,
    get_story,
    is_claimed,
    new_frame,
    now,
    release,
    words_json,
)


class FrameMethods:
    """Mixed into ``Library``, which provides the sessions and the media folder."""

    media: MediaFiles
    _reading: sessionmaker
    _writing: sessionmaker

    def set_frames(self, story_id: int, drafts: list[FrameDraft]) -> list[FrameRecord]:
        """Replace all frames of a story; the old frames' pictures are deleted."""
        indices = [draft.index for draft in drafts]
        if len(set(indices)) != len(indices):
            raise ValueError("Each frame of a story needs its own index.")
        moment = now()
        with self._writing.begin() as session:
            story = get_story(session, story_id)
            old_files = [path for frame in story.frames for path in frame_files(frame)]
            story.frames.clear()
            session.flush()  # the old rows must be gone before new ones reuse their indices
            story.frames.extend(new_frame(d, moment) for d in sorted(drafts, key=lambda d: d.index))
            story.updated_at = moment
            session.flush()
            records = [frame_record(frame) for frame in story.frames]
        self.media.remove(old_files)
        return records

    def add_frame(
        self, story_id: int, draft: FrameDraft, claim_s: float | None = None
    ) -> FrameRecord:
        """Add one frame; with ``claim_s`` it is claimed by the caller for that many seconds
        (see claims.py), so no other worker draws it meanwhile."""
        moment = now()
        with self._writing.begin() as session:
            story = get_story(session, story_id)
            if any(frame.index == draft.index for frame in story.frames):
                raise StorageError(
                    f"Story {story_id} already has a frame number {draft.index}. "
                    "Choose another number or edit that frame instead."
                )
            frame = new_frame(draft, moment)
            if claim_s is not None:
                frame.status = "drawing"
                frame.lease_until = moment + timedelta(seconds=claim_s)
                frame.worker = this_worker()
            story.frames.append(frame)
            story.updated_at = moment
            session.flush()
            return frame_record(frame)

    def update_frame_text(
        self,
        frame_id: int,
        text: str | None = None,
        text_en: str | None = None,
        prompt: str | None = None,
        words: Iterable[WordTime] | None = None,
        scene: str | None = None,
        scene_source: str | None = None,
    ) -> FrameRecord:
        """Change what is given; ``words=()`` drops the word times of a reworded sentence."""
        changes = {
            "text": text,
            "text_en": text_en,
            "prompt": prompt,
            "scene": scene,
            "scene_source": scene_source,
        }
        with self._writing.begin() as session:
            frame = get_frame(session, frame_id)
            for name, value in changes.items():
                if value is not None:
                    setattr(frame, name, value)
            if words is not None:
                frame.words = words_json(words)
            frame.updated_at = now()
            return frame_record(frame)

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
        check_status(status, FRAME_STATUSES, "frame")
        if status == "done" and image is None:
            raise ValueError("A frame can only be saved as done together with its picture.")
        with self._reading() as session:
            story_id = session.scalar(select(Frame.story_id).where(Frame.id == frame_id))
        if story_id is None:
            raise frame_not_found(frame_id)

        new_paths: dict[str, str] = {}
        if image is not None:
            name = f"frame-{frame_id}{image_suffix(image)}"
            new_paths["image_path"] = self.media.write(story_id, name, image)
        if thumbnail is not None:
            name = f"frame-{frame_id}-thumb{image_suffix(thumbnail)}"
            new_paths["thumb_path"] = self.media.write(story_id, name, thumbnail)

        moment = now()
        try:
            with self._writing.begin() as session:
                frame = get_frame(session, frame_id)
                replaced = [
                    old
                    for field, new in new_paths.items()
                    if (old := getattr(frame, field)) and old != new
                ]
                for field, new in new_paths.items():
                    setattr(frame, field, new)
                frame.status = status
                frame.lease_until = frame.worker = None
                frame.error = error
                frame.attempts += 1
                frame.updated_at = moment
                if seed is not None:
                    frame.seed = seed
                record = frame_record(frame)
        except FrameNotFoundError:  # the story was deleted while its picture was being made
            self.media.remove(new_paths.values())
            raise
        self.media.remove(replaced)
        return record

    def pending_frames(self, story_id: int) -> list[FrameRecord]:
        """Frames still without a picture (anything not done), in story order."""
        with self._reading() as session:
            story = get_story(session, story_id)
            return [frame_record(frame) for frame in story.frames if frame.status != "done"]

    def recover_interrupted(self, temp_older_than: float = 0.0) -> int:
        """Call once when the app starts: stories whose worker died (its lease ran out) get their
        status from their frames, expired frame claims are given back, and half-written
        temporary files are removed. Returns the stories fixed.

        Where several app processes share the media folder, pass ``temp_older_than`` (seconds) so
        a restarting one leaves alone the files another is writing at that moment."""
        moment = now()
        with self._writing.begin() as session:
            generating = session.scalars(
                select(Story)
                .where(Story.status == "generating")
                .options(selectinload(Story.frames))
            )
            stories = [s for s in generating if not is_held(s.lease_until, s.worker)]
            for story in stories:
                for frame in story.frames:
                    if frame.status == "drawing" and not is_claimed(frame):
                        release(frame)
                story.status = derived_status(story, interrupted=True)  # its worker died
                story.lease_until = story.worker = None
                story.updated_at = moment
        self.media.remove_temporary_files(temp_older_than)
        return len(stories)
