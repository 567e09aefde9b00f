"""Workers: Huey consumers for the speech and pictures queues, plus a watch for abandoned jobs.

``python -m s2i_core worker`` runs one in the foreground; the app starts one inside its own
process (S2I_APP_WORKER) so that `make run` alone does everything on one machine.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence

from huey.consumer import Consumer, Scheduler, Worker

from ..errors import QueueUnavailableError
from ..settings import Settings
from ..speech import engine_name
from . import leftovers, queue_file
from .outage import Outage
from .queues import Queues, open_queues
from .registry import put_on
from .runtime import runtime_for
from .specs import QUEUES

log = logging.getLogger("s2i_core.jobs")
DEFAULT_THREADS = {"speech": 1, "pictures": 2}  # one model; two stories drawn at once
SHUTDOWN_SECONDS = 30.0  # a job told to stop saves what is done and goes back to the queue
# A queued job on no queue for this long was taken by a worker that died before starting it (a
# live worker starts a job the moment it takes it; the margin covers a slow first start).
LOST_AFTER_SECONDS = 30.0


def jobs_at_once(settings: Settings, queue: str) -> int:
    """Jobs a queue's consumer runs at once: on the batched engine, the speech queue runs
    S2I_SPEECH_BATCH transcriptions, which share one batch on the GPU (speech/gathering.py)."""
    if queue == "speech" and settings.speech_batch > 1 and engine_name(settings) == "torch-batched":
        return settings.speech_batch
    return DEFAULT_THREADS[queue]


class _QuietWorker(Worker):
    """Huey's worker, saying a queue that is away once (``outage``), not with a traceback each
    time it looks."""

    outage: Outage

    def loop(self, now=None) -> None:
        try:
            task = self.huey.dequeue()
        except Exception as error:
            self.outage.away(error)
            self.sleep()  # Huey's back-off, up to the consumer's max_delay
            return
        self.outage.back()
        if task is None:
            if not self.huey.storage.blocking:
                self.sleep()
            return
        self.delay = self.default_delay
        try:
            self.huey.execute(task, now)
        except Exception:  # Huey's own bookkeeping; our jobs record their failures themselves
            self._logger.exception("Unhandled error during execution of task %s.", task.id)


class _QuietScheduler(Scheduler):
    """Huey's scheduler (it queues the retries a job asked for when their time comes), saying a
    queue that is away once. A retry lost with the queue is queued again by the watch."""

    outage: Outage

    def loop(self, now=None) -> None:
        current = self._next_loop
        self._next_loop += self.interval
        if self._next_loop < time.monotonic():  # a stall: skip rather than run twice
            self._next_loop = time.monotonic()
            return
        try:
            for task in self.huey.read_schedule(now):
                self.huey.enqueue(task)
        except Exception as error:
            self.outage.away(error)
        else:
            self.outage.back()
        self.sleep_for_interval(current, self.interval)


class _Consumer(Consumer):
    """A consumer that leaves signal handling to its owner (the app starts it from a thread that
    is not the main one, where Python allows no signal handlers), and whose workers say an
    outage of the queue once."""

    worker_class = _QuietWorker
    scheduler_class = _QuietScheduler

    def __init__(self, huey, outage: Outage, **options) -> None:
        self.outage = outage  # read by the workers made in Consumer.__init__
        super().__init__(huey, **options)

    def _create_worker(self) -> Worker:
        worker = super()._create_worker()
        worker.outage = self.outage
        return worker

    def _create_scheduler(self) -> Scheduler:
        scheduler = super()._create_scheduler()
        scheduler.outage = self.outage
        return scheduler

    def _set_signal_handlers(self) -> None:
        pass


_started: list[WorkerPool] = []


def stop_all() -> None:
    """Stop every pool this process started (tests, and an app shutting down)."""
    while _started:
        _started.pop().stop()


class WorkerPool:
    """Consumers for ``queues`` in this process, with ``threads`` jobs at once on each."""

    def __init__(
        self, settings: Settings, queues: Sequence[str] = QUEUES, threads: int | None = None
    ):
        self.settings = settings
        self.queues = tuple(queues)
        self.runtime = runtime_for(settings)
        queues = open_queues(settings)
        # the library's outages, said once each (the queue's are the queues' own)
        self.database = Outage("The library database", "the workers keep looking.")
        self.consumers = {
            queue: _Consumer(
                queues.hueys[queue],
                queues.outage,
                workers=threads or jobs_at_once(settings, queue),
                worker_type="thread",
                periodic=False,
                max_delay=1.0,  # a SQLite queue is polled: pick up new work within a second
                shutdown_timeout=SHUTDOWN_SECONDS,
            )
            for queue in self.queues
        }
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_leases, name="job-watch", daemon=True)

    def start(self) -> WorkerPool:
        leftovers.remove_stale_files(self.runtime)  # what a killed worker was writing
        self.runtime.stopping.clear()
        for consumer in self.consumers.values():
            consumer.start()
        self._watch.start()
        _started.append(self)
        log.info("worker started: %s", ", ".join(self.queues) or "no queues")
        return self

    def stop(self) -> None:
        """Stop taking work; running jobs save what they finished and go back to the queue."""
        self._stop.set()
        self.runtime.stopping.set()
        for consumer in self.consumers.values():
            consumer.stop(graceful=True)

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM (from the main thread)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._stop.set())
        self.start()
        while not self._stop.wait(1.0):
            for consumer in self.consumers.values():
                consumer.check_worker_health()
        log.info("worker stopping")
        self.stop()

    def _watch_leases(self) -> None:
        """Queue again the jobs whose worker went silent (killed, machine lost, app restarted),
        those a worker took from the queue but died before starting, and those the queue could
        not take while it was away. An outage of the queue or the database is said once."""
        lease = self.settings.work_lease_s
        queues = open_queues(self.settings)
        while True:
            try:
                self._sweep(queues, lease)
            except QueueUnavailableError:
                pass  # said once by the queues' outage; the jobs wait in the job book
            except Exception as error:  # the database is away for a moment: look again
                self.database.away(error)
            else:
                self.database.back()
            if self._stop.wait(min(lease / 3, 10.0)):
                return

    def _sweep(self, queues: Queues, lease: float) -> None:
        book = self.runtime.book
        queue_file.repair(queues, book, thorough=False)  # a damaged or replaced queue file
        for job in book.take_abandoned(lease):
            log.warning("job %s (%s) lost its worker; queued again", job.id, job.kind)
            put_on(queues, book, job)
        for job in book.take_unqueued():
            log.warning("job %s (%s) could not be queued before; queued now", job.id, job.kind)
            put_on(queues, book, job)
        for job in book.take_lost(queues.waiting(), LOST_AFTER_SECONDS):
            log.warning("job %s (%s) was on no queue; queued again", job.id, job.kind)
            put_on(queues, book, job)
