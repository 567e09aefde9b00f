"""Drawing a story's frames: ``concurrency`` pictures at a time, each saved the moment it is done.

Frames another worker is drawing are skipped (storage/claims.py); a frame a transcription adds
while a drawing follows it is begun as soon as a place is free, so pictures come while the
narration is still being heard. A frame never begins further ahead of the caller than the
concurrency: a caller that stops (a cancelled job) leaves at most that many pictures begun after
its last look, however slow it was to look.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from ..errors import ContentFilteredError, ImageAPIError
from ..pictures import GeneratedImage, ImageParams, PictureBackend, no_backend_note
from ..pictures.images import placeholder_card, thumbnail
from ..storage import DEFAULT_LEASE_S, FrameRecord, Library, StoryHold, StoryRecord
from ..story.picture_settings import refit_story_params, story_params
from ..wordlist import frame_stop_reason
from .cast import Cast, draw_frame, load_cast

FOLLOW_POLL_SECONDS = 0.5  # how often a drawing looks for frames another process added

Choose = Callable[[StoryRecord], list[FrameRecord]]  # the frames a drawing is for, as it stands


def missing_pictures(story: StoryRecord) -> list[FrameRecord]:
    return [f for f in story.frames if f.status != "done"]


def chosen_frames(frame_ids: Iterable[int]) -> Choose:
    wanted = set(frame_ids)
    return lambda story: [f for f in story.frames if f.id in wanted]


@dataclasses.dataclass
class Drawing:
    """One drawing of one story's frames; ``pictures()`` yields each frame once it is saved.

    ``more`` says whether frames may still be added (a transcription at work): while it does,
    the drawing waits for them, woken by ``wake`` (set by whoever adds one) or every
    FOLLOW_POLL_SECONDS. ``transient`` collects frames that failed for a reason that may pass.
    A frame whose words a teacher changed while its picture was drawn (its version moved on, and
    with it the prompt) is drawn once more, from its new words: the picture made from the old
    ones is kept in its history with the prompt it was drawn from."""

    library: Library
    backend: PictureBackend | None
    story_id: int
    choose: Choose = missing_pictures
    reseed: bool = False  # a new seed for every picture
    lease_s: float = DEFAULT_LEASE_S
    more: Callable[[], bool] = lambda: False
    wake: threading.Event = dataclasses.field(default_factory=threading.Event)
    check: Callable[[], None] = lambda: None  # raises to stop between pictures (a cancel)
    tried: set[int] = dataclasses.field(default_factory=set)  # frame ids begun or held elsewhere
    transient: set[int] = dataclasses.field(default_factory=set)
    # changed while drawn: once more, {frame id: its attempts then} (unless drawn since by another)
    again: dict[int, int] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)  # settings changed to fit a model
    wordless: set[int] = dataclasses.field(default_factory=set)  # left waiting for English words
    cast: Cast | None = None  # the characters drawn from their pictures (jobs/cast.py)

    def pictures(self) -> Iterator[FrameRecord]:
        params, word_list = self._settings()
        concurrency = max(1, self.backend.concurrency if self.backend else 1)
        with (
            StoryHold(self.library, self.story_id, self.lease_s) as hold,
            ThreadPoolExecutor(concurrency, "storyboard") as pool,  # in flight: still saved
        ):
            start = _Starter(self, hold, pool, params, word_list, concurrency)
            start.fill()
            while start.running or self.more():
                self.wake.wait(start.patience(self.more()))
                self.wake.clear()
                self.check()
                finished = start.take_finished()
                start.fill()  # the pool stays busy while the caller looks at these
                for future in finished:
                    saved = future.result()
                    hold.finished(saved.id)
                    yield saved

    def _settings(self) -> tuple[ImageParams, tuple[str, ...]]:
        if self.backend is None:
            return story_params(self.library.get_story(self.story_id))
        params, word_list, self.notes = refit_story_params(
            self.library, self.story_id, self.backend.models
        )
        self.cast = load_cast(self.library, self.story_id, self.backend)
        self.notes += self.cast.notes
        return params, word_list


class _Starter:
    """Begins frames for a Drawing: claims them as they are needed, keeps ``concurrency`` going."""

    def __init__(
        self,
        drawing: Drawing,
        hold: StoryHold,
        pool: ThreadPoolExecutor,
        params: ImageParams,
        word_list: tuple[str, ...],
        concurrency: int,
    ) -> None:
        self.drawing, self.hold, self.pool = drawing, hold, pool
        self.params, self.word_list, self.concurrency = params, word_list, concurrency
        self.claimed: deque[FrameRecord] = deque()
        self.running: set[Future[FrameRecord]] = set()
        self.language = "en"

    def fill(self) -> None:
        while len(self.running) < self.concurrency and self._begin_next():
            pass

    def patience(self, more: bool) -> float | None:
        """How long to wait for news: for ever while every place is taken or nothing more can
        come (a finished picture wakes the drawing), else until the next look for frames."""
        full = len(self.running) >= self.concurrency
        return FOLLOW_POLL_SECONDS if more and not full else None

    def take_finished(self) -> list[Future[FrameRecord]]:
        finished = [future for future in self.running if future.done()]
        self.running.difference_update(finished)
        return finished

    def _begin_next(self) -> bool:
        if not self.claimed:
            self._claim_more()
        if not self.claimed:
            return False
        frame = self.claimed.popleft()
        params = _seeded(self.params, self.drawing.reseed)
        args = (self.drawing, frame, params, self.word_list, self.language)
        future = self.pool.submit(draw_one, *args)
        future.add_done_callback(lambda _: self.drawing.wake.set())
        self.running.add(future)
        return True

    def _claim_more(self) -> None:
        drawing = self.drawing
        story = drawing.library.get_story(drawing.story_id)
        self.language = story.language or "en"
        chosen = drawing.choose(story)
        # no prompt: no English words to send to a picture service yet (the scene writer's or the
        # teacher's); a frame the word list stops, or one that gets a card, needs none
        drawing.wordless = {f.id for f in chosen if self._waits_for_words(f)}
        fresh = [f.id for f in chosen if f.id not in drawing.tried | drawing.wordless]
        fresh += [  # changed while drawn here, and not drawn since by another
            f.id
            for f in story.frames
            if f.id in drawing.again and drawing.again.pop(f.id) == f.attempts
        ]
        drawing.tried.update(fresh)  # a frame held elsewhere is that worker's to draw
        if fresh:  # and one drawn by another since this look is not drawn again
            seen = {f.id: f.attempts for f in story.frames}
            self.claimed.extend(self.hold.claim(fresh, seen))

    def _waits_for_words(self, frame: FrameRecord) -> bool:
        if frame.prompt.strip() or self.drawing.backend is None:
            return False
        return not frame_stop_reason(frame, self.word_list, self.language)


def generate_story(
    library: Library,
    backend: PictureBackend | None,
    story_id: int,
    frame_ids: Iterable[int] | None = None,
    reseed: bool = False,
    lease_s: float = DEFAULT_LEASE_S,
    transient: set[int] | None = None,
) -> Iterator[FrameRecord]:
    """Make the pictures of a story's unfinished frames (or of ``frame_ids``), yielding each frame
    as soon as it is saved. ``transient`` collects the ids of frames that failed for a reason that
    may pass (the job queue tries those again later)."""
    choose = missing_pictures if frame_ids is None else chosen_frames(frame_ids)
    drawing = Drawing(library, backend, story_id, choose, reseed, lease_s)
    if transient is not None:
        drawing.transient = transient
    return drawing.pictures()


def draw_one(
    drawing: Drawing,
    frame: FrameRecord,
    params: ImageParams,
    word_list: tuple[str, ...],
    language: str = "en",
) -> FrameRecord:
    """Draw one claimed frame and save what came of it: its picture, the word list's or the
    service's refusal, the failure, or a placeholder card when no backend is set up. A frame a
    teacher changed meanwhile is drawn once more (see Drawing)."""
    saved = _drawn(drawing, frame, params, word_list, language)
    if saved.version != frame.version and saved.prompt != frame.prompt:
        drawing.again[frame.id] = saved.attempts
    return saved


def _drawn(
    drawing: Drawing,
    frame: FrameRecord,
    params: ImageParams,
    word_list: tuple[str, ...],
    language: str,
) -> FrameRecord:
    library, backend = drawing.library, drawing.backend
    reason = frame_stop_reason(frame, word_list, language)  # which words, and where
    if reason:
        return library.save_frame_result(frame.id, "filtered", error=reason)
    if backend is None:
        card = placeholder_card(frame.text)
        return library.save_frame_result(
            frame.id, "no_backend", image=card, thumbnail=thumbnail(card), error=no_backend_note()
        )
    model = params.model
    try:
        result: GeneratedImage | ImageAPIError
        result, model = draw_frame(backend, frame, params, drawing.cast or Cast(None))
    except ImageAPIError as error:
        result = error
        if error.retryable:
            drawing.transient.add(frame.id)
    return _save_result(library, frame, result, model)


def _seeded(params: ImageParams, reseed: bool) -> ImageParams:
    return dataclasses.replace(params, seed=random.randint(1, 2**31 - 1)) if reseed else params


def _save_result(
    library: Library,
    frame: FrameRecord,
    result: GeneratedImage | ImageAPIError,
    model: str,
) -> FrameRecord:
    """Save what came back; a picture is kept with the prompt and the scene of ``frame``, the
    frame as it was drawn (a teacher may have changed it since)."""
    if isinstance(result, GeneratedImage):
        data = result.data
        return library.save_frame_result(
            frame.id,
            "done",
            data,
            thumbnail(data),
            seed=result.seed,
            model=model,
            prompt=frame.prompt,
            scene=(frame.scene, frame.scene_source),
        )
    status = "filtered" if isinstance(result, ContentFilteredError) else "failed"
    return library.save_frame_result(frame.id, status, error=str(result))
