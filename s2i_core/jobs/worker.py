"""Workers: Huey consumers for the speech and pictures queues, plus a watch for abandoned jobs.

``python -m s2i_core worker`` runs one in the foreground; the app starts one inside its own
process (S2I_APP_WORKER) so that `make run` alone does everything on one machine.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence

from huey.consumer import Consumer

from ..settings import Settings
from . import leftovers, queue_file
from .queues import open_queues
from .runtime import runtime_for
from .specs import QUEUES

log = logging.getLogger("s2i_core.jobs")
DEFAULT_THREADS = {"speech": 1, "pictures": 2}  # one model; two stories drawn at once
SHUTDOWN_SECONDS = 30.0  # a job told to stop saves what is done and goes back to the queue
# A queued job on no queue for this long was taken by a worker that died before starting it (a
# live worker starts a job the moment it takes it; the margin covers a slow first start).
LOST_AFTER_SECONDS = 30.0


class _Consumer(Consumer):
    """A consumer that leaves signal handling to its owner: the app starts it from a thread that
    is not the main one, where Python allows no signal handlers."""

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
        hueys = open_queues(settings).hueys
        self.consumers = {
            queue: _Consumer(
                hueys[queue],
                workers=threads or DEFAULT_THREADS[queue],
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
        and those a worker took from the queue but died before starting."""
        lease = self.settings.work_lease_s
        queues = open_queues(self.settings)
        while True:
            try:
                queue_file.repair(queues, self.runtime.book, thorough=False)  # damaged, replaced
                for job in self.runtime.book.take_abandoned(lease):
                    log.warning("job %s (%s) lost its worker; queued again", job.id, job.kind)
                    queues.enqueue(job)
                lost = self.runtime.book.take_lost(queues.waiting(), LOST_AFTER_SECONDS)
                for job in lost:
                    log.warning("job %s (%s) was on no queue; queued again", job.id, job.kind)
                    queues.enqueue(job)
            except Exception:  # the database or the queue is away for a moment: look again
                log.warning("could not check for abandoned jobs", exc_info=True)
            if self._stop.wait(min(lease / 3, 10.0)):
                return
