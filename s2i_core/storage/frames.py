"""``Library``'s frame methods: the sentences of a story, their pictures, and crash recovery."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from ..errors import FrameNotFoundError, StorageError
from ..i18n import msg
from .media import MediaFiles, image_suffix
from .quota import count_picture
from .records import (
    FRAME_STATUSES,
    FrameDraft,
    FrameRecord,
    PictureRecord,
    WordTime,
    check_status,
    frame_record,
    is_held,
    picture_record,
    this_worker,
)
from .tables import (
    Frame,
    FramePicture,
    Story,
    derived_status,
    frame_files,
    frame_not_found,
    get_frame,
    get_story,
    is_claimed,
    new_frame,
    now,
    picture_files,
    release,
    set_story_fields,
    show,
    words_json,
)


def kept_picture_note(status: str, error: str) -> str:
    what = (
        "The safety filter stopped the new picture"
        if status == "filtered"
        else ("The new picture could not be drawn")
    )
    return f"{what}, so the picture from before is kept. {error}".strip()


class FrameMethods:
    """Mixed into ``Library``, which provides the sessions and the media folder."""

    media: MediaFiles
    _reading: sessionmaker
    _writing: sessionmaker

    def set_frames(
        self, story_id: int, drafts: list[FrameDraft], **story_fields: Any
    ) -> list[FrameRecord]:
        """Replace all frames of a story, and set ``story_fields`` (see ``update_story``) in the
        same transaction; the old frames' pictures are deleted."""
        indices = [draft.index for draft in drafts]
        if len(set(indices)) != len(indices):
            raise ValueError("Each frame of a story needs its own index.")
        moment = now()
        with self._writing.begin() as session:
            story = get_story(session, story_id)
            set_story_fields(story, story_fields)
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
                    msg(
                        "Story {story_id} already has a frame number {index}. Choose another "
                        "number or edit that frame instead.",
                        story_id=story_id,
                        index=draft.index,
                    )
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

    def retime_frame(
        self, frame_id: int, start: float, end: float, words: Iterable[WordTime]
    ) -> FrameRecord:
        """New times for a frame whose sentence is unchanged (heard again, more exactly)."""
        if end < start:
            raise ValueError("A frame cannot end before it starts.")
        with self._writing.begin() as session:
            frame = get_frame(session, frame_id)
            frame.start, frame.end, frame.words = start, end, words_json(words)
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
        model: str = "",
        prompt: str | None = None,
        scene: tuple[str, str] | None = None,
    ) -> FrameRecord:
        """Record one generation attempt. A new picture (``done``) joins the frame's pictures and
        is shown, with ``prompt``, the prompt it was drawn from, and ``scene``, (the scene, who
        wrote it) it was drawn from (default: the frame's, as saved now; a drawing passes the ones
        it sent, as the sentence may have changed meanwhile); the earlier ones stay. Without a new
        picture (failed, filtered, no backend) a frame that has a picture keeps showing it and
        stays done, and ``error`` becomes a note saying that the redo did not work. ``image``
        with another status is a card, never kept in the history."""
        check_status(status, FRAME_STATUSES, "frame")
        if status == "done" and image is None:
            raise ValueError("A frame can only be saved as done together with its picture.")
        new_paths = self._write_attempt(frame_id, image, thumbnail)
        try:
            with self._writing.begin() as session:
                frame = get_frame(session, frame_id)
                result = _Attempt(status, new_paths, error, seed, model, prompt, scene)
                unused = result.record(session, frame)
                record = frame_record(frame)
        except FrameNotFoundError:  # the story was deleted while its picture was being made
            self.media.remove(new_paths.values())
            raise
        self.media.remove(unused)
        return record

    def _write_attempt(
        self, frame_id: int, image: bytes | None, thumbnail: bytes | None
    ) -> dict[str, str]:
        """The attempt's picture and thumbnail on disk, before any row points to them."""
        with self._reading() as session:
            row = session.execute(
                select(Frame.story_id, Frame.attempts).where(Frame.id == frame_id)
            ).first()
        if row is None:
            raise frame_not_found(frame_id)
        story_id, attempt = row[0], row[1] + 1
        new_paths: dict[str, str] = {}
        if image is not None:
            name = f"frame-{frame_id}-{attempt}{image_suffix(image)}"
            new_paths["image_path"] = self.media.write(story_id, name, image)
        if thumbnail is not None:
            name = f"frame-{frame_id}-{attempt}-thumb{image_suffix(thumbnail)}"
            new_paths["thumb_path"] = self.media.write(story_id, name, thumbnail)
        return new_paths

    def frame_pictures(self, frame_id: int) -> list[PictureRecord]:
        """Every picture the frame got, oldest first."""
        with self._reading() as session:
            frame = get_frame(session, frame_id)
            return [picture_record(picture) for picture in frame.pictures]

    def show_picture(self, frame_id: int, picture_id: int) -> FrameRecord:
        """Show one of the frame's earlier pictures again (grid, replay, PDF and video)."""
        with self._writing.begin() as session:
            frame = get_frame(session, frame_id)
            picture = next((p for p in frame.pictures if p.id == picture_id), None)
            if picture is None:
                raise StorageError(
                    msg(
                        "Frame {frame_id} has no picture {picture_id}; it may belong to another "
                        "frame. Reload the story and choose again.",
                        frame_id=frame_id,
                        picture_id=picture_id,
                    )
                )
            show(frame, picture)
            frame.updated_at = now()
            return frame_record(frame)

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


@dataclass(frozen=True)
class _Attempt:
    """One generation attempt's outcome, as save_frame_result records it on its frame."""

    status: str
    new_paths: dict[str, str]  # the files written for it: "image_path", "thumb_path"
    error: str
    seed: int | None
    model: str
    prompt: str | None  # the one it was drawn from; None: the frame's, as saved now
    scene: tuple[str, str] | None  # (scene, scene_source) it was drawn from; None: the frame's

    def record(self, session: Session, frame: Frame) -> list[str]:
        """Update ``frame``; returns the files no row points to any more."""
        kept = {p for picture in frame.pictures for p in picture_files(picture)}
        shown = [path for path in (frame.image_path, frame.thumb_path) if path]
        moment = now()
        frame.attempts += 1
        frame.lease_until = frame.worker = None
        frame.updated_at = moment
        if self.status == "done":
            scene, scene_source = self.scene or (frame.scene or "", frame.scene_source or "")
            picture = FramePicture(
                attempt=frame.attempts,
                seed=frame.seed if self.seed is None else self.seed,
                prompt=frame.prompt if self.prompt is None else self.prompt,
                model=self.model,
                scene=scene,
                scene_source=scene_source,
                image_path=self.new_paths["image_path"],
                thumb_path=self.new_paths.get("thumb_path"),
                created_at=moment,
            )
            frame.pictures.append(picture)
            session.flush()
            show(frame, picture, its_prompt=False)  # a teacher may have changed it since
            count_picture(session, frame.story_id)
            return [path for path in shown if path not in kept]  # an old card
        if frame.picture_id is not None:  # the redo failed: the picture stays
            frame.status = "done"
            frame.error = kept_picture_note(self.status, self.error)
            return list(self.new_paths.values())
        for field, new in self.new_paths.items():
            setattr(frame, field, new)
        frame.status, frame.error = self.status, self.error
        if self.seed is not None:
            frame.seed = self.seed
        return [path for path in shown if path not in self.new_paths.values()]
