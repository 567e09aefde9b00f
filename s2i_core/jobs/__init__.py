"""Work that outlives the page: jobs in the database, run by workers from a Huey task queue.

The parts, by job:
  book.py     the ``jobs`` table: what each job is, its progress, its lease, cancellation
  queues.py   the Huey queues ("speech", "pictures"): SQLite by default, Redis for many machines
  work.py     what a worker does with each kind of job (transcribe, scenes, draw, export)
  worker.py   consumers for one process: ``python -m s2i_core worker`` or inside the app

Pages and the CLI use the functions below: they save a job, put it on its queue and return at
once; progress is then read back from the database by anyone, on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EditError, StorageError
from ..exports.stored import ExportOptions
from ..scenes import TEACHER
from ..settings import Settings
from ..storage import Library, StoryRecord
from ..storage.quota import check_story_allowance
from .book import ACTIVE, KINDS, STATES, JobBook, JobRecord

QUEUES = ("speech", "pictures")  # see queues.py; Huey is imported only where jobs are queued

__all__ = [
    "ACTIVE",
    "KINDS",
    "QUEUES",
    "STATES",
    "JobBook",
    "JobRecord",
    "StoryProgress",
    "cancel",
    "cancel_export",
    "latest_export",
    "progress",
    "put_on_queue",
    "queue_export",
    "queue_pictures",
    "queue_scenes",
    "queue_transcription",
    "submit",
    "transcribe_again",
]


def submit(settings: Settings, library: Library, story_id: int, kind: str, **options) -> JobRecord:
    """Save a job and put it on its queue. If the queue cannot be reached, the job is marked
    failed with the reason and QueueUnavailableError is raised: nothing waits for ever."""
    book = JobBook(library)
    job = book.create(story_id, kind, **options)
    put_on_queue(settings, book, job)
    return job


def put_on_queue(settings: Settings, book: JobBook, job: JobRecord) -> None:
    """Put a saved job on its queue. If the queue cannot be reached (or is misconfigured), the
    job is marked failed with the reason and the error is raised."""
    from .queues import open_queues

    try:
        open_queues(settings).enqueue(job)
    except Exception as error:
        book.finish(job.id, "failed", error=str(error))
        raise


def queue_transcription(
    settings: Settings,
    library: Library,
    story_id: int,
    language: str | None = None,
    then_draw: bool = False,
) -> list[JobRecord]:
    """Transcribe a saved narration into frames; with ``then_draw``, draw them too. The scene
    writer needs the whole story, so with it on the pictures follow the scenes, which follow the
    transcription; without it, each frame is drawn as soon as its sentence is heard (a drawing
    job that follows the transcription as it goes)."""
    if then_draw and settings.pictures_per_teacher_day:  # the teacher's pictures for today
        check_story_allowance(
            library, settings.pictures_per_teacher_day, library.get_story(story_id)
        )
    if then_draw and settings.has_scene_writer:
        then = {"kind": "scenes", "then": {"kind": "draw"}}
        return [submit(settings, library, story_id, "transcribe", language=language, then=then)]
    jobs = [submit(settings, library, story_id, "transcribe", language=language)]
    if then_draw:
        jobs.append(submit(settings, library, story_id, "draw", follow=True))
    return jobs


def transcribe_again(
    settings: Settings, library: Library, story_id: int, language: str
) -> list[JobRecord]:
    """A draft heard in the wrong language: its sentences are dropped and its stored narration
    (kept, of course) transcribed again in ``language``. Refused once it has pictures."""
    story = library.get_story(story_id)
    if not story.narration_path:
        raise StorageError(
            f"Story {story_id} lost its narration, so it cannot be transcribed again. "
            "Record the story again."
        )
    if any(f.status != "pending" for f in story.frames):
        raise EditError("This story has pictures already; its sentences can only be edited.")
    cancel(library, story_id)  # a scene writer still reading the old sentences
    library.set_frames(story_id, [])
    library.update_story(
        story_id,
        language=language,
        language_probability=None,
        transcript="",
        sentences_missing=True,
        bible=story.bible if story.bible.get("source") == TEACHER else {},
    )
    return queue_transcription(settings, library, story_id, language)


def queue_scenes(
    settings: Settings, library: Library, story_id: int, frame_ids: list[int] | None = None
) -> JobRecord:
    """Write the scenes the story's frames are missing (only ``frame_ids``, if given)."""
    return submit(settings, library, story_id, "scenes", frames=frame_ids)


def queue_pictures(
    settings: Settings,
    library: Library,
    story: StoryRecord,
    frame_ids: list[int] | None = None,
    reseed: bool = False,
    scenes_first: bool = False,
) -> JobRecord:
    """Draw the story's missing pictures, or draw ``frame_ids`` again (a new seed with
    ``reseed``). The redrawn frames are remembered by their attempt count, so a job that runs
    twice draws each of them once. With ``scenes_first``, the scenes those frames are missing
    are written first; a scene writer already at work on the story is waited for."""
    check_story_allowance(library, settings.pictures_per_teacher_day, story, frame_ids)
    frames = None
    if frame_ids is not None:
        frames = {str(f.id): f.attempts for f in story.frames if f.id in set(frame_ids)}
    draw = {"kind": "draw", "frames": frames, "reseed": reseed}
    if not scenes_first:
        return submit(settings, library, story.id, **draw)
    then = {"kind": "scenes", "frames": frame_ids, "then": draw}
    book = JobBook(library)
    writing = [j for j in book.of_story(story.id, active_only=True) if j.kind == "scenes"]
    if writing and not writing[-1].options.get("then") and book.chain(writing[-1].id, then):
        return writing[-1]  # when it is done: the scenes still missing, then the pictures
    return submit(settings, library, story.id, **then)


def queue_export(
    settings: Settings, library: Library, story_id: int, options: ExportOptions | None = None
) -> JobRecord:
    """Make the story's PDF or narrated video on the workers (the "pictures" queue: an export
    reads the stored pictures and needs no speech model). Made once per version of the story."""
    return submit(settings, library, story_id, "export", **(options or ExportOptions()).as_job())


def latest_export(library: Library, story_id: int, options: ExportOptions) -> JobRecord | None:
    """The story's most recent export job for these options, active or not."""
    wanted = tuple(options.as_job().items())
    exports = [j for j in JobBook(library).of_story(story_id) if j.kind == "export"]
    return next((j for j in reversed(exports) if _export_key(j) == wanted), None)


def cancel_export(library: Library, job: JobRecord) -> bool:
    """Stop one export (the file in progress is removed); the story's other work goes on."""
    return job.kind == "export" and JobBook(library).cancel_job(job.id)


def _export_key(job: JobRecord) -> tuple:
    return tuple(ExportOptions.from_job(job.options).as_job().items())


def cancel(library: Library, story_id: int) -> int:
    """Stop the story's queued and running jobs; what is finished stays. Returns how many."""
    return JobBook(library).cancel(story_id)


@dataclass(frozen=True)
class StoryProgress:
    """Where a story's work stands, for pages and ``show``: read from the database only."""

    story: StoryRecord
    jobs: list[JobRecord]  # the story's active jobs, oldest first (exports aside)
    last: JobRecord | None  # the most recent job, active or not (exports aside)
    exports: list[JobRecord]  # the latest export job of each kind (PDF, video and size)

    @property
    def running(self) -> bool:
        return bool(self.jobs)

    @property
    def pictures_done(self) -> int:
        return sum(f.status == "done" for f in self.story.frames)

    @property
    def summary(self) -> str:
        """One line: what is happening now, or what went wrong last."""
        frames = len(self.story.frames)
        done = f"{self.pictures_done} of {frames} pictures"
        if any(j.kind == "transcribe" for j in self.jobs):
            job = next(j for j in self.jobs if j.kind == "transcribe")
            heard = f"{job.done:.0f} of {job.total:.0f} s heard" if job.total else "waiting"
            return f"Transcribing: {heard}, {frames} sentences so far"
        if any(j.kind == "scenes" for j in self.jobs):
            return "Writing a scene for every picture"
        if any(j.kind == "draw" for j in self.jobs):
            job = next(j for j in self.jobs if j.kind == "draw")
            return f"Drawing: {done}" + (" (waiting for a worker)" if job.state == "queued" else "")
        if self.jobs:
            return self.jobs[0].detail
        if self.last and self.last.state == "failed":
            return f"Stopped: {self.last.error}"
        if self.last and self.last.state == "cancelled":
            return f"Cancelled: {done}"
        return done


def progress(library: Library, story_id: int) -> StoryProgress:
    """The story's own work (transcription, drawing) and, apart, its exports: a video being made
    does not make the storyboard look busy, and a failed export is not a failed story."""
    everything = JobBook(library).of_story(story_id)
    jobs = [j for j in everything if j.kind != "export"]
    exports = {_export_key(j): j for j in everything if j.kind == "export"}
    return StoryProgress(
        story=library.get_story(story_id),
        jobs=[j for j in jobs if j.active],
        last=jobs[-1] if jobs else None,
        exports=list(exports.values()),
    )
