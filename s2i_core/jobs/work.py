"""What a worker does with a job: transcribe a story, write its scenes, draw its pictures,
export it.

Every job is idempotent and resumable, because a job may run twice (the queue redelivers it
after a crash) or stop half-way (a worker killed, a teacher cancelling): transcription adds only
the sentences the story does not have yet, scene writing writes only the scenes still missing,
drawing skips frames that are done or that another worker holds (frame claims), and each step is
saved before the next starts. A job that must wait for another (pictures for their scenes) is
that job's ``then``: it is queued when that job is done (see JobBook.finish).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from ..audio import decode_audio
from ..errors import FramesNotDrawnError, NoSpeechError, S2IError, StorageError
from ..pictures import PictureBackend, load_backend
from ..pipeline import final_sentences, frame_draft, generate_story, refit_story_params
from ..sentences import add_english
from ..settings import Settings
from ..speech import NO_WORDS_HEARD, SpeechEngine, load_engine, normalize_language
from ..storage import FrameRecord, Library, StoryRecord, Work
from ..story_scenes import write_missing_scenes
from .book import JobBook, JobRecord

log = logging.getLogger("s2i_core.jobs")
FOLLOW_POLL_SECONDS = 0.5  # how often a drawing job looks for sentences a transcription added


class Stop(Exception):
    """The job was cancelled, or this worker is shutting down (the job is then queued again)."""


class Runtime:
    """What one worker process shares between its jobs: settings, library, clients, the model."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.library = Library(settings)
        self.book = JobBook(self.library)
        self.stopping = threading.Event()  # set when this worker shuts down

    def picture_backend(self) -> PictureBackend | None:
        """The process's picture backend (S2I_IMAGE_BACKEND), built on first use; NVIDIA's
        S2I_IMAGE_RPM is counted in the database, so it holds across every worker and app
        process on the key. None when no backend is set up (frames get a placeholder card)."""
        settings = self.settings
        rpm, key = settings.image_rpm, settings.nvidia_api_key
        shared = self.library.request_limiter(key, rpm) if rpm > 0 and key else None
        return load_backend(settings, rate_limiter=shared)

    def speech_engine(self) -> SpeechEngine:
        return load_engine(self.settings)  # loaded once per process, on the first transcription


_runtimes: dict[tuple[str, str], Runtime] = {}
_runtimes_lock = threading.Lock()


def runtime_for(settings: Settings) -> Runtime:
    """The process's runtime for these settings (one library, one image client, one model)."""
    key = (settings.db_url, str(settings.data_dir.resolve()))
    with _runtimes_lock:
        if key not in _runtimes:
            _runtimes[key] = Runtime(settings)
        return _runtimes[key]


class Lease:
    """Keeps a running job's lease fresh from a background thread, and says when to stop."""

    def __init__(self, runtime: Runtime, job: JobRecord):
        self.runtime, self.job = runtime, job
        self.cancelled = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{job.id}", daemon=True)

    def __enter__(self) -> Lease:
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


def run_job(runtime: Runtime, job_id: int, last_try: bool = True) -> str:
    """Run one job to its end. Returns its final state. A retryable failure is raised again
    (after the job is put back to "queued") unless this is the last try, for the queue to retry."""
    job = runtime.book.start(job_id, runtime.settings.work_lease_s)
    if job is None:
        return "skipped"  # finished, cancelled, or running on a live worker already
    log.info("job %s: %s of story %s (try %s)", job.id, job.kind, job.story_id, job.attempts)
    lease = Lease(runtime, job)
    try:
        with lease:
            detail = JOBS[job.kind](runtime, job, lease)
    except Stop:
        if runtime.stopping.is_set() and not lease.cancelled.is_set():
            runtime.book.requeue(job.id)
            return "requeued"
        return "cancelled"
    except S2IError as error:
        if error.retryable and not last_try:
            runtime.book.requeue(job.id)
            raise
        runtime.book.finish(job.id, "failed", error=str(error))
        return "failed"
    except Exception as error:  # a bug: say so on the job, keep the worker alive
        log.exception("job %s failed", job.id)
        runtime.book.finish(
            job.id, "failed", error=f"Unexpected failure ({type(error).__name__}): {error}"
        )
        return "failed"
    follow = runtime.book.finish(job.id, "done", detail=detail)
    if follow is not None:
        _queue(runtime, follow)
    elif job.kind == "draw":
        export_when_complete(runtime, job.story_id)
    return "done"


def export_when_complete(runtime: Runtime, story_id: int) -> list[JobRecord]:
    """Once a story's last drawing ended (every sentence heard, no frame waiting or being drawn,
    no work left on it), queue its PDF and, with a recording, its narrated video: students then
    only download. An export made or being made for this version is not asked for again."""
    from ..exports.stored import ExportOptions, find, require_content
    from . import latest_export, submit

    story = runtime.library.get_story(story_id)
    busy = [j for j in runtime.book.of_story(story_id, active_only=True) if j.kind != "export"]
    if (
        story.sentences_missing
        or busy
        or any(f.status in ("pending", "drawing") for f in story.frames)
    ):
        return []
    wanted = [ExportOptions("pdf")] + ([ExportOptions("video")] if story.narration_path else [])
    queued = []
    for options in wanted:
        job = latest_export(runtime.library, story_id, options)
        if find(runtime.library, story, options) is not None or (job and job.active):
            continue
        with contextlib.suppress(S2IError):  # nothing to show yet, or the queue is away
            require_content(story, options)
            queued.append(submit(runtime.settings, runtime.library, story_id, "export",
                                 **options.as_job()))  # fmt: skip
    return queued


def _queue(runtime: Runtime, job: JobRecord) -> None:
    """Queue the job that follows a finished one; if the queue is away, that job says so."""
    from . import put_on_queue

    with contextlib.suppress(S2IError):  # put_on_queue marked it failed with the reason
        put_on_queue(runtime.settings, runtime.book, job)


# --- transcription -------------------------------------------------------------------------------
def transcribe(runtime: Runtime, job: JobRecord, lease: Lease) -> str:
    """Transcribe the story's stored narration into frames, one per sentence, each saved as it
    becomes final (a drawing job may pick it up at once). Run again after a crash, it adds only
    the sentences still missing; the story reads as interrupted until the last one is in."""
    library, settings = runtime.library, runtime.settings
    story = library.get_story(job.story_id)
    if not story.narration_path:
        raise StorageError(
            f"Story {story.id} has no stored narration to transcribe. Record the story again."
        )
    decoded = decode_audio(library.path(story.narration_path), settings)
    lease.progress(0.0, decoded.duration, "Loading the speech model")
    engine = runtime.speech_engine()
    lease.progress(0.0, decoded.duration, "Listening to the narration")
    language = normalize_language(job.options.get("language"))
    with Work(library, story.id, settings.work_lease_s):
        segments, info = engine.transcribe(decoded.samples, language=language)
        library.update_story(
            story.id,
            language=info.language,
            language_probability=info.language_probability,
            sentences_missing=True,
        )
        have = {frame.index: frame for frame in story.frames}
        texts = []
        for sentence in final_sentences(segments, info.language, decoded, settings.max_frames):
            lease.progress(sentence.end, decoded.duration, f"Heard {len(texts) + 1} sentences")
            texts.append(sentence.text)
            if sentence.index in have:
                continue
            sentence = add_english([sentence], decoded, engine, info.language)[0]
            library.add_frame(story.id, frame_draft(sentence, sentence.index, story))
        if not texts:
            raise NoSpeechError(NO_WORDS_HEARD)
        library.update_story(story.id, transcript=" ".join(texts), sentences_missing=False)
    if not _active(runtime, story.id, "draw") and "draw" not in _followers(job):
        library.update_story(story.id, status="draft")  # the teacher checks the sentences first
    return f"{len(texts)} sentences"


# --- scenes --------------------------------------------------------------------------------------
def scenes(runtime: Runtime, job: JobRecord, lease: Lease) -> str:
    """Write the scenes the story's frames are missing (or only those of ``frames``): one
    request to the LLM, or the offline lines. Run again, it finds them written."""
    lease.progress(0, 1, "Writing a scene for every picture")
    written = write_missing_scenes(
        runtime.library, runtime.settings, job.story_id, job.options.get("frames")
    )
    if written is None:
        return "Every scene was written already."
    return written.notice or f"{len(written.frames)} scenes written."


# --- pictures ------------------------------------------------------------------------------------
def draw(runtime: Runtime, job: JobRecord, lease: Lease) -> str:
    """Draw the story's missing pictures (or the chosen frames again). With ``follow``, also the
    frames a transcription of the same story is still adding, as soon as each appears."""
    library = runtime.library
    tried: set[int] = set()
    transient: set[int] = set()
    backend = runtime.picture_backend()
    notes = refit_story_params(library, job.story_id, backend.models)[2] if backend else []
    while True:
        story = library.get_story(job.story_id)
        todo = [f for f in _frames_to_draw(story, job) if f.id not in tried]
        if not todo:
            if job.options.get("follow") and _active(runtime, story.id, "transcribe"):
                lease.check()
                time.sleep(FOLLOW_POLL_SECONDS)
                continue
            break
        total = len(tried) + len(todo)
        pictures = generate_story(
            library,
            backend,
            story.id,
            [f.id for f in todo],
            reseed=bool(job.options.get("reseed")),
            lease_s=runtime.settings.work_lease_s,
            transient=transient,
        )
        try:
            for frame in pictures:
                tried.add(frame.id)
                lease.progress(len(tried), total, f"Drew {len(tried)} of {total} pictures")
        finally:
            pictures.close()  # on Stop: pictures in flight are still saved, the rest not begun
        tried.update(f.id for f in todo)  # claimed elsewhere: that worker draws them
    if transient:
        raise FramesNotDrawnError(
            f"{len(transient)} pictures failed for a reason that may pass "
            "(the picture service was busy or down); they will be tried again."
        )
    return " ".join([f"{len(tried)} pictures.", *notes])  # a retired model: the teacher is told


def _frames_to_draw(story: StoryRecord, job: JobRecord) -> list[FrameRecord]:
    chosen = job.options.get("frames")  # {frame id: its attempts when the redraw was asked}
    if chosen is None:
        return [f for f in story.frames if f.status != "done"]
    return [f for f in story.frames if f.attempts <= chosen.get(str(f.id), -1)]


def _active(runtime: Runtime, story_id: int, kind: str) -> bool:
    return any(j.kind == kind for j in runtime.book.of_story(story_id, active_only=True))


def _followers(job: JobRecord) -> list[str]:
    """The kinds of the jobs that follow this one, in order."""
    kinds, then = [], job.options.get("then")
    while then:
        kinds.append(then["kind"])
        then = then.get("then")
    return kinds


# --- exports -------------------------------------------------------------------------------------
def export(runtime: Runtime, job: JobRecord, lease: Lease) -> str:
    """Make the story's PDF or narrated video (``format``, ``resolution``) in its media folder,
    or find the one made for this version of the story. The detail is the stored path."""
    from ..exports.stored import ExportOptions, make

    library = runtime.library
    options = ExportOptions.from_job(job.options)
    story = library.get_story(job.story_id)
    lease.progress(0, 1, f"Making the {options.label}")

    def encoded(fraction: float) -> None:  # the video's frames; raises Stop once cancelled
        lease.progress(fraction, 1, f"Making the {options.label}: {fraction:.0%}")

    path = make(library, story, options, encoded)
    return path.relative_to(library.data_dir).as_posix()


JOBS: dict[str, Callable[[Runtime, JobRecord, Lease], str]] = {
    "transcribe": transcribe,
    "scenes": scenes,
    "draw": draw,
    "export": export,
}
