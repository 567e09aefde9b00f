"""Work that outlives the page: jobs in the database, run by workers from a Huey task queue.

The parts, by job:
  book.py     the ``jobs`` table: what each job is, its progress, its lease, cancellation
  queues.py   the Huey queues ("speech", "pictures"): SQLite by default, Redis for many machines
  work.py     what a worker does with each kind of job (transcribe, draw, export)
  worker.py   consumers for one process: ``python -m s2i_core worker`` or inside the app

Pages and the CLI use the functions below: they save a job, put it on its queue and return at
once; progress is then read back from the database by anyone, on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exports.stored import ExportOptions
from ..settings import Settings
from ..storage import Library, StoryRecord
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
    "queue_export",
    "queue_pictures",
    "queue_transcription",
    "submit",
]


def submit(settings: Settings, library: Library, story_id: int, kind: str, **options) -> JobRecord:
    """Save a job and put it on its queue. If the queue cannot be reached, the job is marked
    failed with the reason and QueueUnavailableError is raised: nothing waits for ever."""
    from .queues import open_queues

    book = JobBook(library)
    job = book.create(story_id, kind, **options)
    try:
        open_queues(settings).enqueue(job)
    except Exception as error:
        book.finish(job.id, "failed", error=str(error))
        raise
    return job


def queue_transcription(
    settings: Settings,
    library: Library,
    story_id: int,
    language: str | None = None,
    then_draw: bool = False,
) -> list[JobRecord]:
    """Transcribe a saved narration into frames; with ``then_draw``, draw each frame as soon as
    its sentence is heard (a drawing job that follows the transcription)."""
    jobs = [submit(settings, library, story_id, "transcribe", language=language)]
    if then_draw:
        jobs.append(submit(settings, library, story_id, "draw", follow=True))
    return jobs


def queue_pictures(
    settings: Settings,
    library: Library,
    story: StoryRecord,
    frame_ids: list[int] | None = None,
    reseed: bool = False,
) -> JobRecord:
    """Draw the story's missing pictures, or draw ``frame_ids`` again (a new seed with
    ``reseed``). The redrawn frames are remembered by their attempt count, so a job that runs
    twice draws each of them once."""
    frames = None
    if frame_ids is not None:
        frames = {str(f.id): f.attempts for f in story.frames if f.id in set(frame_ids)}
    return submit(settings, library, story.id, "draw", frames=frames, reseed=reseed)


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
