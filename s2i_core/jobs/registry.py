"""Every kind of job in one table: its spec, the queue it waits on and the handler that runs it
(what follows a job is its spec's ``then``). Adding a kind of job is a spec in specs.py, a handler
in handlers.py and one line here.

``run_job`` is how a queue, any queue, runs one: Huey's (queues.py) in the workers, or the CLI's
own (inline.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import QueueUnavailableError, S2IError
from ..i18n import msg
from . import handlers
from .book import JobBook, JobRecord
from .runtime import JobContext, Runtime, Stop
from .specs import Draw, Export, JobSpec, Transcribe, WriteScenes

log = logging.getLogger("s2i_core.jobs")


@dataclass(frozen=True)
class JobKind:
    spec: type[JobSpec]
    queue: str  # "speech": needs the speech model; "pictures": everything else
    handler: Callable[[Any, JobContext], str]  # runs the job; returns its last detail line


JOBS: dict[type[JobSpec], JobKind] = {
    kind.spec: kind
    for kind in (
        JobKind(Transcribe, "speech", handlers.transcribe),
        # a request to the LLM service: no model here, like a picture's
        JobKind(WriteScenes, "pictures", handlers.write_scenes),
        JobKind(Draw, "pictures", handlers.draw),
        # an export reads the stored pictures and needs no speech model
        JobKind(Export, "pictures", handlers.export),
    )
}


def queue_of(spec: JobSpec) -> str:
    return JOBS[type(spec)].queue


class Enqueue(Protocol):
    def enqueue(
        self, job: JobRecord, patience: float = 0.0, until: threading.Event | None = None
    ) -> None: ...


# How long a finished job's worker waits for a queue that is away before leaving its follower to
# the workers' watch: a Redis restart is over by then, and the story goes on at once.
FOLLOWER_PATIENCE = 60.0


def run_job(
    runtime: Runtime,
    job_id: int,
    last_try: bool = True,
    queues: Enqueue | None = None,
    reraise: bool = False,
) -> str:
    """Run one job to its end and return its final state. A retryable failure is raised again
    (after the job is put back to "queued") unless this is the last try, for the queue to retry;
    with ``reraise``, any failure is raised once it is recorded (the CLI's own runs). The job
    that follows a finished one goes on ``queues`` (without them, the workers' watch queues it)."""
    job = runtime.book.start(job_id, runtime.settings.work_lease_s)
    if job is None:
        return "skipped"  # finished, cancelled, or running on a live worker already
    log.info("job %s: %s of story %s (try %s)", job.id, job.kind, job.story_id, job.attempts)
    context = JobContext(runtime, job)
    try:
        with context:
            context.check()  # a worker stopping (or a CLI run closed) begins nothing new
            detail = JOBS[type(job.spec)].handler(job.spec, context)
    except Stop:
        if runtime.stopping.is_set() and not context.cancelled.is_set():
            runtime.book.requeue(job.id)
            return "requeued"
        return "cancelled"
    except S2IError as error:
        if error.retryable and not last_try:
            runtime.book.requeue(job.id)
            raise
        runtime.book.finish(job.id, "failed", error=str(error))
        if reraise:
            raise
        return "failed"
    except Exception as error:  # a bug: say so on the job, keep the worker alive
        log.exception("job %s failed", job.id)
        runtime.book.finish(
            job.id,
            "failed",
            error=msg(
                "Unexpected failure ({kind}): {error}", kind=type(error).__name__, error=error
            ),
        )
        if reraise:
            raise
        return "failed"
    follow = runtime.book.finish(job.id, "done", detail=detail)
    if follow is not None and queues is not None:
        with contextlib.suppress(S2IError):  # put_on said on the job why it waits or failed
            put_on(queues, runtime.book, follow, FOLLOWER_PATIENCE, runtime.stopping)
    if follow is None and isinstance(job.spec, Draw) and not reraise:  # a worker's, not the CLI's
        export_when_complete(runtime, job.story_id, queues)
    return "done"


def export_when_complete(
    runtime: Runtime, story_id: int, queues: Enqueue | None = None
) -> list[JobRecord]:
    """Once a story's last drawing ended (every sentence heard, no frame waiting or being drawn,
    no other work on it), queue its PDF and, with a recording, its narrated video: students then
    only download. An export made or being made for this version is not asked for again. Like a
    job that follows another, each goes on ``queues``, or without them is left to the workers'
    watch (which queues a job found on no queue)."""
    from ..exports.stored import ExportOptions, find, require_content

    library, book = runtime.library, runtime.book
    story = library.get_story(story_id)
    active = book.of_story(story_id, active_only=True)
    busy = [j for j in active if j.kind != "export"]
    waiting = any(f.status in ("pending", "drawing") for f in story.frames)
    if story.sentences_missing or busy or waiting:
        return []
    wanted = [ExportOptions("pdf")] + ([ExportOptions("video")] if story.narration_path else [])
    exports = [j.spec for j in active if isinstance(j.spec, Export)]
    queued = []
    for options in wanted:
        spec = Export(story_id, options.format, options.resolution)
        asked = any(_same_export(made, spec) for made in exports)
        if asked or find(library, story, options) is not None:
            continue
        with contextlib.suppress(S2IError):  # nothing to show yet, or the queue is away
            require_content(story, options)
            job = book.create(spec)
            if queues is not None:
                put_on(queues, book, job)
            queued.append(job)
    return queued


def _same_export(made: Export, wanted: Export) -> bool:
    """The same file: a PDF has no resolution to tell apart."""
    return made.format == wanted.format and (
        made.format == "pdf" or made.resolution == wanted.resolution
    )


def put_on(
    queues: Enqueue,
    book: JobBook,
    job: JobRecord,
    patience: float = 0.0,
    until: threading.Event | None = None,
) -> None:
    """Put a saved job on its queue, waiting out a queue that is away for ``patience`` seconds.
    A queue still away leaves the job queued in the job book, saying why (the workers' watch
    puts it on its queue when the queue is back), and QueueUnavailableError is raised; a queue
    that cannot work at all (a setting's typo) fails the job with the reason."""
    try:
        queues.enqueue(job, patience, until)
    except QueueUnavailableError as error:
        book.wait_for_queue(job.id, str(error))
        raise
    except Exception as error:
        book.finish(job.id, "failed", error=str(error))
        raise
