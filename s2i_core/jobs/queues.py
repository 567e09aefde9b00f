"""The task queues, on Huey: "speech" (transcription: the Whisper model) and "pictures" (scene
writing, drawing, exports). Two queues so a school can give transcription to the one machine with
a GPU.

``S2I_QUEUE_URL`` empty: ``SqliteHuey`` in ``<data_dir>/queue.db``, nothing to set up (processes
of one machine). ``redis://…``: ``RedisHuey``, for workers and app replicas on many machines.
The queues carry only job ids; the job book in the database says what each job is.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import Task, TaskWrapper
from huey.exceptions import RetryTask

from ..errors import QueueUnavailableError, SceneWriterUnavailableError, SettingsError
from ..i18n import msg
from ..settings import Settings
from . import queue_file
from .book import JobRecord
from .outage import Outage
from .registry import queue_of, run_job
from .runtime import runtime_for
from .specs import QUEUES

RETRIES = 3  # a job failing for a reason that may pass (see errors.retryable) is tried again
RETRY_DELAY = 5.0  # seconds before the first retry, doubling each time
TASK_NAME = "s2i.run_job"
FIRST_TRY_AGAIN = 0.25  # seconds before putting a job on a queue that is away is tried again,
MOST_TRY_AGAIN = 5.0  # doubling up to this (a Redis restart takes seconds)


@dataclass
class Queues:
    settings: Settings
    hueys: dict[str, Huey]
    tasks: dict[str, TaskWrapper]
    # the queue's outages, said once each (by enqueue, the consumers and the workers' watch)
    outage: Outage = field(init=False)

    def __post_init__(self) -> None:
        self.outage = Outage(
            f"The job queue ({describe(self.settings)})",
            "jobs wait in the job book and are queued as soon as it is back.",
        )

    def enqueue(
        self, job: JobRecord, patience: float = 0.0, until: threading.Event | None = None
    ) -> None:
        """Put a job on its queue, trying again with back-off for ``patience`` seconds while the
        queue cannot be reached (or until ``until`` is set); then QueueUnavailableError."""
        deadline = time.monotonic() + patience
        delay = FIRST_TRY_AGAIN
        while True:
            try:
                self.tasks[queue_of(job.spec)](job.id)
            except Exception as error:  # redis.ConnectionError, sqlite3.OperationalError, ...
                if queue_file.repair(self):  # a damaged SQLite file was set aside: use the new one
                    continue
                self.outage.away(error)
                if time.monotonic() + delay > deadline or (until and until.wait(delay)):
                    raise QueueUnavailableError(self.unreachable(error)) from error
                if until is None:
                    time.sleep(delay)
                delay = min(delay * 2, MOST_TRY_AGAIN)
            else:
                self.outage.back()
                return

    def unreachable(self, error: BaseException) -> str:
        return msg(
            "The job queue ({describe}) cannot be reached ({kind}). The work is saved and starts "
            "by itself as soon as the queue is back; if this lasts, check that it is running.",
            describe=describe(self.settings),
            kind=type(error).__name__,
        )

    def pending(self, queue: str) -> int:
        return self.hueys[queue].pending_count()

    def waiting(self) -> set[int]:
        """Ids of the jobs on a queue now, or scheduled there for a retry."""
        try:
            waiting = {
                task.args[0]
                for huey in self.hueys.values()
                for task in (*huey.pending(), *huey.scheduled())
                if task.args
            }
        except Exception as error:
            self.outage.away(error)
            raise QueueUnavailableError(self.unreachable(error)) from error
        self.outage.back()
        return waiting


def describe(settings: Settings) -> str:
    """Where the queue is, for messages: never the password of a Redis URL."""
    if not settings.queue_url:
        return f"SQLite file {settings.data_dir / 'queue.db'}"
    parts = urlsplit(settings.queue_url)
    return f"Redis at {parts.hostname}:{parts.port or 6379}"


_opened: dict[tuple[str, str], Queues] = {}
_lock = threading.Lock()


def open_queues(settings: Settings) -> Queues:
    """The queues of these settings, opened once per process."""
    key = (settings.queue_url, str(settings.data_dir.resolve()))
    with _lock:
        if key not in _opened:
            aside = queue_file.check(settings)  # a damaged file is set aside, a new one made
            hueys = {q: _huey(settings, q) for q in QUEUES}
            _opened[key] = queues = Queues(settings, hueys, {})
            queues.tasks.update({q: _register(hueys[q], queues) for q in QUEUES})
            queue_file.opened(queues, aside)
        return _opened[key]


def _huey(settings: Settings, queue: str) -> Huey:
    name = f"s2i-{queue}"
    url = settings.queue_url
    if not url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey: Huey = SqliteHuey(
            name, filename=str(settings.data_dir.resolve() / "queue.db"), results=False, timeout=30
        )
    elif urlsplit(url).scheme in ("redis", "rediss", "unix"):
        huey = RedisHuey(name, url=url, results=False)
    else:
        raise SettingsError(
            msg(
                "The setting S2I_QUEUE_URL must be empty (a queue file in the data "
                "folder) or a redis:// address, not one starting with {scheme}.",
                scheme=f"{urlsplit(url).scheme or url[:10]!r}",
            )
        )
    return huey


def _register(huey: Huey, queues: Queues) -> TaskWrapper:
    """The one task of a queue: run a job of the job book by its id (what follows it goes on
    these queues)."""

    def run(job_id: int, task: Task | None = None) -> None:
        runtime = runtime_for(queues.settings)
        try:
            run_job(runtime, job_id, last_try=not (task and task.retries), queues=queues)
        except SceneWriterUnavailableError as error:  # its own wait, not the queue's RETRIES
            raise RetryTask(str(error), delay=error.retry_after) from error

    return huey.task(
        retries=RETRIES, retry_delay=RETRY_DELAY, retry_backoff=2, context=True, name=TASK_NAME
    )(run)
