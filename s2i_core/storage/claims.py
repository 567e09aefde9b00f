"""Leases, so that each frame is drawn once however many workers run.

A worker claims frames before drawing them: a claimed frame is ``drawing`` until its result is
saved, it is released, or its lease runs out; other workers skip it until then, and a claim left
by a killed worker is taken again once its lease has run out. The story being worked on holds a
lease of its own, so a story whose worker died reads as ``interrupted``. ``StoryHold`` renews both
while the work goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from .records import FrameDraft, FrameRecord, frame_record, this_worker
from .tables import Frame, Story, derived_status, get_story, is_claimed, now, release

log = logging.getLogger(__name__)
DEFAULT_LEASE_S = 60.0


class ClaimMethods:
    """Mixed into ``Library``, which provides the sessions."""

    _reading: sessionmaker
    _writing: sessionmaker

    def claim_frames(
        self,
        story_id: int,
        frame_ids: Iterable[int] | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        seen: Mapping[int, int] | None = None,
    ) -> list[FrameRecord]:
        """Claim ``frame_ids`` (default: every frame without a picture) for ``lease_s`` seconds,
        skipping frames another worker holds, and those whose attempts are no longer as ``seen``
        ({frame id: attempts} when the caller chose them: another drawing saved a picture of it
        between that look and this claim). Returns the frames claimed, in story order."""
        moment = now()
        statement = select(Frame).where(Frame.story_id == story_id)
        if frame_ids is None:
            statement = statement.where(Frame.status != "done")
        else:
            statement = statement.where(Frame.id.in_(list(frame_ids)))
        # SQLite: the writer's BEGIN IMMEDIATE serialises claims; PostgreSQL: row locks.
        statement = statement.order_by(Frame.index).with_for_update(skip_locked=True)
        with self._writing.begin() as session:
            get_story(session, story_id)  # a missing story is an error, not an empty claim
            frames = [
                frame
                for frame in session.scalars(statement)
                if not is_claimed(frame)
                and (seen or {}).get(frame.id, frame.attempts) == frame.attempts
            ]
            for frame in frames:
                frame.status = "drawing"
                frame.lease_until = moment + timedelta(seconds=lease_s)
                frame.worker = this_worker()
            return [frame_record(frame) for frame in frames]

    def release_frames(self, frame_ids: Iterable[int]) -> None:
        """Give back claims without a result: a frame with its picture is done again, any other
        waits for its picture."""
        ids = list(frame_ids)
        if not ids:
            return
        with self._writing.begin() as session:
            frames = session.scalars(
                select(Frame).where(Frame.id.in_(ids), Frame.status == "drawing")
            ).all()
            for frame in frames:
                release(frame)

    def hold_story(self, story_id: int, lease_s: float = DEFAULT_LEASE_S) -> None:
        """Mark the story as being worked on for ``lease_s`` seconds (``StoryHold`` renews it)."""
        with self._writing.begin() as session:
            story = get_story(session, story_id)
            story.status = "generating"
            story.lease_until = now() + timedelta(seconds=lease_s)
            story.worker = this_worker()

    def renew_leases(
        self, story_id: int, frame_ids: Iterable[int], lease_s: float = DEFAULT_LEASE_S
    ) -> None:
        until = now() + timedelta(seconds=lease_s)
        ids = list(frame_ids)
        mine = this_worker()
        with self._writing.begin() as session:
            session.execute(
                update(Story)
                .where(Story.id == story_id, Story.status == "generating")
                .values(lease_until=until, worker=mine)
            )
            if ids:
                session.execute(
                    update(Frame)
                    .where(Frame.id.in_(ids), Frame.status == "drawing", Frame.worker == mine)
                    .values(lease_until=until)
                )

    def end_work(self, story_id: int, interrupted: bool = False) -> str:
        """The worker is done with the story (``interrupted``: it stopped half-way, by an error
        or a closed tab): set its status from its frames and return it."""
        with self._writing.begin() as session:
            story = session.get(Story, story_id)
            if story is None:
                return "deleted"
            story.lease_until = story.worker = None
            story.status = derived_status(story, interrupted)
            story.updated_at = now()
            return story.status


class StoryHold:
    """One worker's hold on a story and on the frames it claims, renewed in the background
    every third of the lease; leaving releases unfinished claims and sets the story's status.

        with StoryHold(library, story_id, lease_s) as hold:
            for frame in hold.claim():
                library.save_frame_result(frame.id, ...)
                hold.finished(frame.id)
    """

    def __init__(self, library: ClaimMethods, story_id: int, lease_s: float = DEFAULT_LEASE_S):
        self.library = library
        self.story_id = story_id
        self.lease_s = lease_s
        self.status = ""  # the story's status once the work ended
        self._claimed: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name="lease", daemon=True)

    def __enter__(self) -> StoryHold:
        self.library.hold_story(self.story_id, self.lease_s)
        self._renewer.start()
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        self._stop.set()
        self._renewer.join()
        with self._lock:
            unfinished = list(self._claimed)
        self.library.release_frames(unfinished)
        self.status = self.library.end_work(self.story_id, interrupted=error_type is not None)

    def claim(
        self, frame_ids: Iterable[int] | None = None, seen: Mapping[int, int] | None = None
    ) -> list[FrameRecord]:
        frames = self.library.claim_frames(self.story_id, frame_ids, self.lease_s, seen)
        if frames:  # the story is worked on again (another hold that ended may have let it go)
            self.library.hold_story(self.story_id, self.lease_s)
        with self._lock:
            self._claimed.update(frame.id for frame in frames)
        return frames

    def add_frame(self, draft: FrameDraft) -> FrameRecord:
        frame = self.library.add_frame(self.story_id, draft, claim_s=self.lease_s)
        with self._lock:
            self._claimed.add(frame.id)
        return frame

    def finished(self, frame_id: int) -> None:
        with self._lock:
            self._claimed.discard(frame_id)

    def renew(self) -> None:
        """Extend the story's lease and every unfinished claim by a full lease from now: one beat
        of the background renewal, which runs every third of the lease."""
        with self._lock:
            claimed = list(self._claimed)
        self.library.renew_leases(self.story_id, claimed, self.lease_s)

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.renew()
            except Exception:  # a busy database: the next beat tries again, well within the lease
                log.warning("could not renew the leases of story %s", self.story_id, exc_info=True)
