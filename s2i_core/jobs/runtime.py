"""What a job runs with: the process's runtime (settings, library, job book, picture backend,
speech model) and, per job, its context (lease, progress, cancellation, events).

A worker process has one ``Runtime`` per library (``runtime_for``); the CLI makes one of its own
for the jobs it runs in-process (inline.py), with its own job book and an ``events`` sink that
streams progress to the terminal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..audio import DecodedAudio
from ..pictures import PictureBackend, load_backend
from ..settings import Settings
from ..speech import SpeechEngine, load_engine
from ..storage import FrameRecord, Library
from ..story.scene_writer import Scenes
from .book import JobBook, JobRecord


class Stop(Exception):
    """The job was cancelled, or this worker is shutting down (the job is then queued again)."""


@dataclass(frozen=True)
class StoryEvent:
    """Progress of a story's jobs as it happens: a sentence became a frame, a frame got its
    picture, the transcription ended, the scenes were written."""

    kind: str  # "frame_added" | "frame_done" | "transcribed" | "scenes"
    story_id: int
    frame: FrameRecord | None = None
    scenes: Scenes | None = None  # "scenes": what the scene writer gave, and how long it took


class StoryNews:
    """Wakes a drawing job the moment a transcription in this process adds a frame to its story
    (other processes' frames are found by polling)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[int, set[threading.Event]] = {}

    def listen(self, story_id: int, event: threading.Event) -> Callable[[], None]:
        """Set ``event`` whenever the story has news; returns the call that stops it."""
        with self._lock:
            self._listeners.setdefault(story_id, set()).add(event)

        def stop() -> None:
            with self._lock:
                self._listeners.get(story_id, set()).discard(event)

        return stop

    def announce(self, story_id: int) -> None:
        with self._lock:
            listeners = list(self._listeners.get(story_id, ()))
        for event in listeners:
            event.set()


class Runtime:
    """What one process shares between its jobs: settings, library, job book, clients, model."""

    def __init__(
        self,
        settings: Settings,
        library: Library | None = None,
        book: JobBook | None = None,
        backend: Callable[[], PictureBackend | None] | None = None,
        engine: Callable[[], SpeechEngine] | None = None,
        events: Callable[[StoryEvent], None] | None = None,
        retried_by_queue: bool = True,
        recordings: dict[int, DecodedAudio] | None = None,
    ):
        self.settings = settings
        self.library = library or Library(settings)
        self.book = book or JobBook(self.library)
        self.stopping = threading.Event()  # set when this worker shuts down
        self.news = StoryNews()
        self.events = events or (lambda event: None)
        self._backend = backend or self._load_backend
        self._engine = engine or (lambda: load_engine(self.settings))
        # whether a job that failed for a reason that may pass is tried again later (a worker's
        # queue does that; the CLI's own runs do not)
        self.retried_by_queue = retried_by_queue
        # narrations this process decoded already, by story id: a transcription here takes its
        # story's instead of decoding the stored file again (the CLI's story_here)
        self.recordings = recordings or {}

    def picture_backend(self) -> PictureBackend | None:
        """The process's picture backend (S2I_IMAGE_BACKEND), built on first use; None when no
        backend is set up (frames get a placeholder card)."""
        return self._backend()

    def speech_engine(self) -> SpeechEngine:
        return self._engine()  # loaded once per process, on the first transcription

    def _load_backend(self) -> PictureBackend | None:
        # a hosted service's request rate is counted in the database, so it holds across every
        # worker and app process on the key
        return load_backend(self.settings, shared_limits=self.library.request_limiter)


_runtimes: dict[tuple[str, str], Runtime] = {}
_runtimes_lock = threading.Lock()


def runtime_for(settings: Settings) -> Runtime:
    """The worker runtime of this process for these settings (one library, one image client, one
    speech model)."""
    key = (settings.db_url, str(settings.data_dir.resolve()))
    with _runtimes_lock:
        if key not in _runtimes:
            _runtimes[key] = Runtime(settings)
        return _runtimes[key]


class JobContext:
    """One running job: keeps its lease fresh from a background thread, records its progress,
    reports its events and says when to stop."""

    def __init__(self, runtime: Runtime, job: JobRecord):
        self.runtime, self.job = runtime, job
        self.cancelled = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{job.id}", daemon=True)

    def __enter__(self) -> JobContext:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _renew(self) -> None:
        seconds = self.runtime.settings.work_lease_s
        while not self._done.wait(seconds / 3):
            if not self.runtime.book.renew(self.job.id, seconds):
                self.cancelled.set()

    def check(self) -> None:
        """Raise Stop when the job was cancelled or the worker is shutting down."""
        if self.cancelled.is_set() or self.runtime.stopping.is_set():
            raise Stop

    def progress(self, done: float, total: float, detail: str) -> None:
        if not self.runtime.book.progress(self.job.id, done, total, detail):
            self.cancelled.set()
        self.check()

    def report(self, event: StoryEvent) -> None:
        self.runtime.events(event)
