"""Work that outlives the page: jobs in the database, run by workers from a Huey task queue.

The parts, by job:
  specs.py     what each kind of job is asked to do: a frozen dataclass per kind
  registry.py  the one table: kind -> queue -> handler; ``run_job`` runs one job to its end
  handlers.py  what a job of each kind does (transcribe, scenes, draw, export)
  drawing.py   a story's pictures drawn a few at a time, each saved as it comes
  runtime.py   what jobs run with: settings, library, clients, the model; a job's lease
  book.py      the ``jobs`` table: what each job is, its progress, its lease, cancellation
  queues.py    the Huey queues ("speech", "pictures"): SQLite by default, Redis for many machines
  worker.py    consumers for one process: ``python -m s2i_core worker`` or inside the app
  inline.py    the CLI's own queue: the same jobs run in its process, their progress streamed

Pages and the CLI use the functions below: they save a job, put it on its queue and return at
once; progress is then read back from the database by anyone, on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EditError, StorageError
from ..exports.stored import ExportOptions
from ..i18n import msg
from ..settings import Settings
from ..speech import normalize_language
from ..storage import Library, StoryRecord
from ..storage.quota import check_story_allowance
from .book import ACTIVE, STATES, WAITING_FOR_QUEUE, JobBook, JobRecord
from .specs import (
    QUEUES,
    Draw,
    Export,
    JobSpec,
    Transcribe,
    WriteScenes,
    hearing_again_job,
    pictures_job,
    transcription_jobs,
)

__all__ = [
    "ACTIVE",
    "QUEUES",
    "STATES",
    "Draw",
    "Export",
    "JobBook",
    "JobRecord",
    "JobSpec",
    "StoryProgress",
    "Transcribe",
    "WriteScenes",
    "cancel",
    "cancel_export",
    "check_hearing_again",
    "export_options",
    "latest_export",
    "pictures_job",
    "progress",
    "put_on_queue",
    "queue_export",
    "queue_pictures",
    "queue_scenes",
    "queue_transcription",
    "submit",
    "transcribe_again",
    "transcription_jobs",
]


def submit(settings: Settings, library: Library, spec: JobSpec) -> JobRecord:
    """Save a job and put it on its queue. If the queue cannot be reached for a few seconds,
    QueueUnavailableError says so, and the job waits in the job book, saying why, until the
    workers' watch can queue it: a queue that blinks never stops a story."""
    book = JobBook(library)
    job = book.create(spec)
    put_on_queue(settings, book, job)
    return job


# How long a page (or the CLI) waits for a queue that is away: a teacher is not kept waiting
# longer, and the job is queued by the workers' watch once the queue is back.
SUBMIT_PATIENCE = 5.0


def put_on_queue(settings: Settings, book: JobBook, job: JobRecord) -> None:
    """Put a saved job on its queue (see registry.put_on)."""
    from .queues import open_queues
    from .registry import put_on

    put_on(open_queues(settings), book, job, SUBMIT_PATIENCE)


def queue_transcription(
    settings: Settings,
    library: Library,
    story_id: int,
    language: str | None = None,
    then_draw: bool = False,
) -> list[JobRecord]:
    """Queue ``transcription_jobs``."""
    if then_draw and settings.pictures_per_teacher_day:  # the teacher's pictures for today
        check_story_allowance(
            library, settings.pictures_per_teacher_day, library.get_story(story_id)
        )
    specs = transcription_jobs(settings, story_id, language, then_draw)
    return [submit(settings, library, spec) for spec in specs]


def transcribe_again(
    settings: Settings,
    library: Library,
    story_id: int,
    language: str,
    then_draw: bool = False,
) -> list[JobRecord]:
    """A draft heard in the wrong language: its stored narration is transcribed again in
    ``language`` (``hearing_again_job``). Its sentences, scenes and bible stay until the new
    sentences are all heard, and stay for good if that fails. Refused once it has pictures."""
    story = check_hearing_again(library, story_id)
    if then_draw and settings.pictures_per_teacher_day:  # the teacher's pictures for today
        check_story_allowance(library, settings.pictures_per_teacher_day, story)
    cancel(library, story_id)  # a scene writer still reading the old sentences
    spec = hearing_again_job(settings, story_id, normalize_language(language), then_draw)
    return [submit(settings, library, spec)]


def check_hearing_again(library: Library, story_id: int) -> StoryRecord:
    """The story, if it can be heard again: its narration is kept and it has no pictures."""
    story = library.get_story(story_id)
    if not story.narration_path:
        raise StorageError(
            msg(
                "Story {story_id} lost its narration, so it cannot be transcribed again. "
                "Record the story again.",
                story_id=story_id,
            )
        )
    if any(f.status != "pending" for f in story.frames):
        raise EditError(msg("This story has pictures already; its sentences can only be edited."))
    return story


def queue_scenes(
    settings: Settings, library: Library, story_id: int, frame_ids: list[int] | None = None
) -> JobRecord:
    """Write the scenes the story's frames are missing (only ``frame_ids``, if given)."""
    frames = None if frame_ids is None else tuple(frame_ids)
    return submit(settings, library, WriteScenes(story_id, frames))


def queue_pictures(
    settings: Settings,
    library: Library,
    story: StoryRecord,
    frame_ids: list[int] | None = None,
    reseed: bool = False,
    scenes_first: bool = False,
) -> JobRecord:
    """Queue ``pictures_job``. With ``scenes_first``, the scenes those frames are missing are
    written first; a scene writer already at work on the story is waited for."""
    check_story_allowance(library, settings.pictures_per_teacher_day, story, frame_ids)
    draw = pictures_job(story, frame_ids, reseed)
    if not scenes_first:
        return submit(settings, library, draw)
    frames = None if frame_ids is None else tuple(frame_ids)
    then = WriteScenes(story.id, frames, then=draw)
    book = JobBook(library)
    writing = [j for j in book.of_story(story.id, active_only=True) if j.kind == "scenes"]
    if writing and writing[-1].spec.then is None and book.chain(writing[-1].id, then):
        return writing[-1]  # when it is done: the scenes still missing, then the pictures
    return submit(settings, library, then)


def queue_export(
    settings: Settings, library: Library, story_id: int, options: ExportOptions | None = None
) -> JobRecord:
    """Make the story's PDF or narrated video on the workers (the "pictures" queue: an export
    reads the stored pictures and needs no speech model). Made once per version of the story."""
    options = options or ExportOptions()
    return submit(settings, library, Export(story_id, options.format, options.resolution))


def export_options(job: JobRecord) -> ExportOptions:
    """What an export job makes."""
    spec: Export = job.spec  # type: ignore[assignment]
    return ExportOptions(spec.format, spec.resolution)


def latest_export(library: Library, story_id: int, options: ExportOptions) -> JobRecord | None:
    """The story's most recent export job for these options, active or not."""
    wanted = options.as_job()
    exports = [j for j in JobBook(library).of_story(story_id) if j.kind == "export"]
    return next((j for j in reversed(exports) if export_options(j).as_job() == wanted), None)


def cancel_export(library: Library, job: JobRecord) -> bool:
    """Stop one export (the file in progress is removed); the story's other work goes on."""
    return job.kind == "export" and JobBook(library).cancel_job(job.id)


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
    def writer_waiting(self) -> JobRecord | None:
        """The story's scenes job while it waits on the queue for the LLM service to be back
        (it ran, found the writer down and is queued again)."""
        return next(
            (j for j in self.jobs if j.kind == "scenes" and j.state == "queued" and j.attempts),
            None,
        )

    @property
    def pictures_done(self) -> int:
        return sum(f.status == "done" for f in self.story.frames)

    @property
    def summary(self) -> str:
        """One line: what is happening now, or what went wrong last."""
        frames = len(self.story.frames)
        done = msg("{done} of {total} pictures", done=self.pictures_done, total=frames)
        if any(j.detail == WAITING_FOR_QUEUE for j in self.jobs):
            return msg(
                "Waiting for the job queue to come back ({done}): the work goes on by itself then",
                done=done,
            )
        if any(j.kind == "transcribe" for j in self.jobs):
            job = next(j for j in self.jobs if j.kind == "transcribe")
            heard = (
                msg("{done} of {total} s heard", done=f"{job.done:.0f}", total=f"{job.total:.0f}")
                if job.total
                else msg("waiting")
            )
            if job.spec.replace_sentences:  # type: ignore[attr-defined]
                return msg("Transcribing again: {heard}", heard=heard)
            return msg("Transcribing: {heard}, {n} sentences so far", heard=heard, n=frames)
        if self.writer_waiting:
            return self.writer_waiting.detail
        if any(j.kind == "scenes" for j in self.jobs):
            return msg("Writing a scene for every picture")
        if any(j.kind == "draw" for j in self.jobs):
            job = next(j for j in self.jobs if j.kind == "draw")
            if job.state == "queued":
                return msg("Drawing: {done} (waiting for a worker)", done=done)
            return msg("Drawing: {done}", done=done)
        if self.jobs:
            return self.jobs[0].detail
        if self.last and self.last.state == "failed":
            return msg("Stopped: {error}", error=self.last.error)
        if self.last and self.last.state == "cancelled":
            return msg("Cancelled: {done}", done=done)
        return done


def progress(library: Library, story_id: int) -> StoryProgress:
    """The story's own work (transcription, drawing) and, apart, its exports: a video being made
    does not make the storyboard look busy, and a failed export is not a failed story."""
    everything = JobBook(library).of_story(story_id)
    jobs = [j for j in everything if j.kind != "export"]
    exports = {
        tuple(export_options(j).as_job().items()): j for j in everything if j.kind == "export"
    }
    return StoryProgress(
        story=library.get_story(story_id),
        jobs=[j for j in jobs if j.active],
        last=jobs[-1] if jobs else None,
        exports=list(exports.values()),
    )
