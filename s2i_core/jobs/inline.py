"""An in-process queue: the CLI's ``story`` and ``regenerate`` run their jobs here, through the
same job book code and the same handlers as the workers, and stream what happens as it happens.

Each job runs in a thread of its own the moment it is queued (a story's transcription and the
drawing that follows it run side by side), and the job that follows a finished one is queued
here too. The jobs are the command's own: they live in a job book of their own, in a temporary
database, so `show` and the app see the story (its frames, its status, "interrupted" if the
command is killed) but no job a worker would pick up, and the command's output is its own.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event

from ..audio import DecodedAudio
from ..errors import StorageError
from ..i18n import msg
from ..pictures import PictureBackend
from ..settings import Settings
from ..speech import SpeechEngine, load_engine, normalize_language
from ..storage import Job, Library
from ..storage.database import open_engine
from ..story.bible import OFFLINE, notes_bible
from ..story.drafts import StoryOptions, check_recording, start_story
from ..story.scene_writer import offline_reason
from .book import JobBook, JobRecord
from .registry import run_job
from .runtime import Runtime, StoryEvent
from .specs import Draw, JobSpec, hearing_again_job, transcription_jobs

_IDLE = object()  # every job has ended


class InlineQueues:
    """Runs each job queued on it in a thread of this process; remembers the first failure and
    says (on ``events``) when no job is left running."""

    def __init__(self, runtime: Runtime, events: queue.Queue):
        self.runtime = runtime
        self.failure: BaseException | None = None
        self._events = events
        self._running = 0
        self._changed = threading.Condition()

    def enqueue(
        self, job: JobRecord, patience: float = 0.0, until: threading.Event | None = None
    ) -> None:
        self._add(1)  # never away: this process is the queue
        threading.Thread(target=self._run, args=(job.id,), name=f"job-{job.id}").start()

    @contextmanager
    def queueing(self) -> Iterator[None]:
        """Queue several jobs at once: the queue never reads as idle before the last is in."""
        self._add(1)
        try:
            yield
        finally:
            self._add(-1)

    def wait_idle(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._running == 0)

    def _run(self, job_id: int) -> None:
        try:
            run_job(self.runtime, job_id, queues=self, reraise=True)
        except BaseException as error:  # handed to the caller's thread
            self.failure = self.failure or error
        finally:
            self._add(-1)

    def _add(self, change: int) -> None:
        # a job's follower is queued before the job's own thread ends: never idle in between
        with self._changed:
            self._running += change
            if self._running == 0:
                self._events.put(_IDLE)
                self._changed.notify_all()


def run_here(
    settings: Settings,
    library: Library,
    specs: Sequence[JobSpec],
    backend: PictureBackend | None,
    engine: SpeechEngine | None = None,
    recordings: dict[int, DecodedAudio] | None = None,
) -> Iterator[StoryEvent]:
    """Run ``specs`` (and the jobs that follow them) in this process, yielding their events in
    the caller's thread; the first failure is raised once every job has stopped. ``engine``:
    the speech model (default: the process's, loaded on the first transcription);
    ``recordings``: narrations already decoded, by story id."""
    events: queue.Queue[StoryEvent | object] = queue.Queue()
    folder = Path(tempfile.mkdtemp(prefix="s2i-jobs-"))
    book, jobs_db = _own_book(library, folder)
    runtime = Runtime(
        settings,
        library,
        book,
        backend=lambda: backend,
        engine=(lambda: engine) if engine is not None else None,
        events=events.put,
        retried_by_queue=False,
        recordings=recordings,
    )
    queues = InlineQueues(runtime, events)
    try:
        with queues.queueing():
            for spec in specs:
                queues.enqueue(book.create(spec))
        while (item := events.get()) is not _IDLE:
            yield item  # type: ignore[misc]
        if queues.failure is not None:
            raise queues.failure
    finally:
        runtime.stopping.set()  # a caller that stopped early: the jobs stop at their next step
        queues.wait_idle()
        jobs_db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def story_here(
    library: Library,
    settings: Settings,
    backend: PictureBackend | None,
    source: bytes | str | Path,
    options: StoryOptions,
    engine: SpeechEngine | None = None,
    language: str | None = None,
) -> Iterator[StoryEvent]:
    """The CLI's ``story``: narration in, storyboard out, with no waiting between the two. The
    story and its narration are saved first (bad audio refused and the speech model loaded before
    anything is); then it is transcribed and each sentence's picture requested the moment its
    sentence is final, while later audio is still being heard (with the scene writer on, the
    pictures wait for it instead: it needs the whole story). Killed anywhere, the story reads as
    interrupted and ``finish_here`` finishes it."""
    recording = check_recording(source, settings)
    engine = engine or load_engine(settings)
    story = start_story(library, settings, recording, options, language)
    if not settings.has_scene_writer:  # the teacher's notes are the bible from the start
        offline = {"path": OFFLINE, "notice": offline_reason(settings)}
        bible = notes_bible(options.characters).to_json() | offline
        story = library.update_story(story.id, bible=bible)
    jobs = transcription_jobs(settings, story.id, language, then_draw=True)
    return run_here(settings, library, jobs, backend, engine, {story.id: recording.decoded})


def finish_here(
    library: Library,
    settings: Settings,
    backend: PictureBackend | None,
    story_id: int,
    engine: SpeechEngine | None = None,
    language: str | None = None,
) -> Iterator[StoryEvent]:
    """The CLI's ``regenerate``: finish a story however it was interrupted, transcribing its
    stored narration again when sentences are missing (frames it has are kept; in
    ``language`` if given, else the story's), then drawing every missing picture."""
    story = library.get_story(story_id)
    if not story.sentences_missing:
        return run_here(settings, library, [Draw(story_id)], backend, engine)
    if not story.narration_path:
        raise StorageError(
            msg(
                "Story {story_id} lost its narration, so its missing sentences cannot be "
                "transcribed again. Record the story again.",
                story_id=story_id,
            )
        )
    heard_in = language or story.language or None
    jobs = transcription_jobs(settings, story_id, heard_in, then_draw=True)
    return run_here(settings, library, jobs, backend, engine)


def hear_again_here(
    library: Library,
    settings: Settings,
    backend: PictureBackend | None,
    story_id: int,
    language: str,
    engine: SpeechEngine | None = None,
) -> Iterator[StoryEvent]:
    """The CLI's ``regenerate --language``: hear the story again in ``language`` (its sentences
    replaced only if that works), then draw its pictures."""
    from . import check_hearing_again

    check_hearing_again(library, story_id)
    job = hearing_again_job(settings, story_id, normalize_language(language), then_draw=True)
    return run_here(settings, library, [job], backend, engine)


def _own_book(library: Library, folder: Path) -> tuple[JobBook, Engine]:
    """A job book in a database of its own (the jobs table alone, its stories being the
    library's)."""
    engine = open_engine(f"sqlite:///{folder / 'jobs.db'}")
    event.listen(engine, "connect", _no_foreign_keys)
    Job.__table__.create(engine)
    return JobBook(library, engine), engine


def _no_foreign_keys(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # the stories are in the library
