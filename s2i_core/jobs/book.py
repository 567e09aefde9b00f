"""The job book: every queued job as a row in the library's database, the one source of truth.

The task queue only carries job ids. What a job is, how far it got, whether a teacher cancelled
it and whether its worker is still alive all live here, so any app replica or worker sees the same
progress, and a job whose worker died (its lease ran out) is queued again by another worker.

What a job is arrives and leaves as a typed spec (``specs.py``); this is the one place that turns
a spec into the row's JSON and back.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..errors import JobNotFoundError
from ..i18n import msg
from ..storage import Job, Library
from .specs import JobSpec

ACTIVE = ("queued", "running")
STATES = (*ACTIVE, "done", "failed", "cancelled")
MAX_ATTEMPTS = 5  # a job whose worker died this many times is given up, with a message
WAITING = msg("Waiting for a worker")  # a queued job's detail
# A queued job's detail while its queue cannot be reached (see wait_for_queue)
WAITING_FOR_QUEUE = msg("Waiting for the job queue to come back")
# How an error read when a job failed only because its queue could not be reached (before such
# jobs waited instead): the workers' watch queues them again (take_unqueued)
QUEUE_AWAY = ("The job queue (", "cannot be reached")


@dataclass(frozen=True)
class JobRecord:
    id: int
    story_id: int
    spec: JobSpec  # what the job does, and what follows it
    state: str
    done: float
    total: float
    detail: str
    error: str
    attempts: int
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None


class JobBook:
    """Reads and writes jobs through the library's database connection (or ``engine``: the CLI
    keeps the jobs it runs itself in a database of their own, see inline.py). Thread-safe."""

    def __init__(self, library: Library, engine: Engine | None = None):
        self.library = library
        engine = engine or library.engine
        self._reading = sessionmaker(engine)
        self._writing = sessionmaker(engine.execution_options(s2i_writer=True))

    def create(self, spec: JobSpec) -> JobRecord:
        """A queued job; ``spec.then`` is queued when it is done (see finish)."""
        self.library.get_story(spec.story)  # a clear "not found" for a deleted story
        with self._writing.begin() as session:
            return _record(_new_job(session, spec))

    def get(self, job_id: int) -> JobRecord:
        with self._reading() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise JobNotFoundError(
                    msg(
                        "Job {job_id} is not in the library; its story may have been deleted.",
                        job_id=job_id,
                    )
                )
            return _record(job)

    def of_story(self, story_id: int, active_only: bool = False) -> list[JobRecord]:
        """The story's jobs, oldest first."""
        statement = select(Job).where(Job.story_id == story_id).order_by(Job.id)
        if active_only:
            statement = statement.where(Job.state.in_(ACTIVE))
        with self._reading() as session:
            return [_record(job) for job in session.scalars(statement)]

    def active(self) -> list[JobRecord]:
        statement = select(Job).where(Job.state.in_(ACTIVE)).order_by(Job.id)
        with self._reading() as session:
            return [_record(job) for job in session.scalars(statement)]

    def start(self, job_id: int, lease: float) -> JobRecord | None:
        """Take the job for this worker, or None when it is finished, cancelled or held by a live
        worker (the queue may hand out a job twice after a crash; only one runs it)."""
        moment = _now()
        with self._writing.begin() as session:
            job = session.get(Job, job_id)
            if job is None or job.state not in ACTIVE:
                return None
            if job.state == "running" and job.lease_until and _utc(job.lease_until) > moment:
                return None
            job.state = "running"
            job.attempts += 1
            job.lease_until = moment + timedelta(seconds=lease)
            job.updated_at = moment
            return _record(job)

    def renew(self, job_id: int, lease: float) -> bool:
        """Extend a running job's lease; False once it was cancelled (the worker should stop)."""
        moment = _now()
        with self._writing.begin() as session:
            job = session.get(Job, job_id)
            if job is None or job.state != "running":
                return False
            job.lease_until = moment + timedelta(seconds=lease)
            return True

    def progress(self, job_id: int, done: float, total: float, detail: str) -> bool:
        """Record progress; False once the job was cancelled or deleted (stop working on it)."""
        with self._writing.begin() as session:
            job = session.get(Job, job_id)
            if job is None or job.state != "running":
                return False
            job.done, job.total, job.detail, job.updated_at = done, total, detail, _now()
            return True

    def finish(
        self, job_id: int, state: str = "done", detail: str = "", error: str = ""
    ) -> JobRecord | None:
        """End a job. A job done creates, in the same transaction, the job it names as ``then``
        (so the story never looks idle in between), and returns it for the caller to queue."""
        if state not in STATES:
            raise ValueError(f"{state!r} is not a job state.")
        with self._writing.begin() as session:
            job = session.get(Job, job_id, with_for_update=True)  # see chain()
            if job is None or job.state == "cancelled":
                return None
            job.state, job.error, job.lease_until, job.updated_at = state, error, None, _now()
            if detail:
                job.detail = detail
            then = _spec(job).then
            if state != "done" or then is None:
                return None
            return _record(_new_job(session, then))

    def chain(self, job_id: int, then: JobSpec) -> bool:
        """Have an active job start ``then`` when it is done. False when it is not active any
        more (then start ``then`` yourself): a job never finishes without seeing its ``then``."""
        spec = dataclasses.replace(self.get(job_id).spec, then=then)
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.state.in_(ACTIVE))
            .values(options=_options(spec))
        )
        with self._writing.begin() as session:
            return session.execute(statement).rowcount == 1

    def wait_for_queue(self, job_id: int, reason: str) -> None:
        """A queued job its queue could not take: it stays queued, saying why, and the workers'
        watch puts it on its queue once the queue is back (see take_lost)."""
        with self._writing.begin() as session:
            job = session.get(Job, job_id)
            if job is not None and job.state == "queued":
                job.detail, job.error, job.updated_at = WAITING_FOR_QUEUE, reason, _now()

    def requeue(self, job_id: int) -> None:
        """Hand a job back to the queue (a transient fault: a worker will try again)."""
        with self._writing.begin() as session:
            job = session.get(Job, job_id)
            if job is not None and job.state == "running":
                job.state, job.updated_at = "queued", _now()
                job.lease_until = _now() + timedelta(seconds=QUEUE_PATIENCE)

    def cancel(self, story_id: int) -> int:
        """Cancel every active job of a story; workers stop at their next step. Returns how many."""
        statement = (
            update(Job)
            .where(Job.story_id == story_id, Job.state.in_(ACTIVE))
            .values(state="cancelled", detail=msg("Cancelled"), lease_until=None, updated_at=_now())
        )
        with self._writing.begin() as session:
            return session.execute(statement).rowcount

    def cancel_job(self, job_id: int) -> bool:
        """Cancel one active job; its worker stops at its next step. False if it had ended."""
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.state.in_(ACTIVE))
            .values(state="cancelled", detail=msg("Cancelled"), lease_until=None, updated_at=_now())
        )
        with self._writing.begin() as session:
            return session.execute(statement).rowcount == 1

    def take_abandoned(self, lease: float) -> list[JobRecord]:
        """Active jobs whose worker went silent (lease over): each is returned once, to the one
        caller that takes it, with a fresh lease, so it can be queued again. Jobs that failed
        this way MAX_ATTEMPTS times are failed instead."""
        moment = _now()
        taken: list[JobRecord] = []
        with self._writing.begin() as session:
            stale = session.scalars(
                select(Job).where(Job.state.in_(ACTIVE), Job.lease_until < moment)
            ).all()
            for job in stale:
                if job.attempts >= MAX_ATTEMPTS:
                    job.state, job.lease_until = "failed", None
                    job.error = (
                        f"The worker stopped {job.attempts} times while doing this; "
                        "check the worker's log, then try again."
                    )
                else:
                    job.state = "queued"
                    job.lease_until = moment + timedelta(seconds=max(lease, QUEUE_PATIENCE))
                    taken.append(_record(job))
                job.updated_at = moment
        return taken

    def take_lost(self, waiting: set[int], quiet_for: float) -> list[JobRecord]:
        """Queued jobs that are on no queue (``waiting`` holds the ids the queues hold): a worker
        took one from its queue and died before starting it, or its queue could not be reached
        when it was saved (wait_for_queue). Each is returned once, to be queued again: after
        ``quiet_for`` seconds without news, or at once when its queue could not take it."""
        moment = _now()
        quiet = moment - timedelta(seconds=quiet_for)
        with self._writing.begin() as session:
            # one its queue could not take is lost at once: the queue answers again
            quiet_or_unqueued = (Job.updated_at <= quiet) | (Job.detail == WAITING_FOR_QUEUE)
            statement = select(Job).where(Job.state == "queued", quiet_or_unqueued)
            lost = [job for job in session.scalars(statement) if job.id not in waiting]
            for job in lost:
                job.updated_at = moment
                if job.detail == WAITING_FOR_QUEUE:
                    job.detail, job.error = WAITING, ""
            return [_record(job) for job in lost]

    def take_unqueued(self) -> list[JobRecord]:
        """Jobs that failed only because their queue could not be reached, with nothing newer
        of their story since (a story whose next step could not be queued): each is returned
        once, queued again, to be put on its queue. Such jobs wait queued now; this finishes
        the stories an earlier version left stopped by a queue that blinked."""
        moment = _now()
        failed = (Job.state == "failed") & Job.error.startswith(QUEUE_AWAY[0])
        with self._writing.begin() as session:
            taken = []
            for job in session.scalars(
                select(Job).where(failed, Job.error.contains(QUEUE_AWAY[1]))
            ):
                newer = select(Job.id).where(Job.story_id == job.story_id, Job.id > job.id)
                if session.scalar(newer.limit(1)) is not None:
                    continue
                job.state, job.detail, job.error = "queued", WAITING, ""
                job.lease_until = moment + timedelta(seconds=QUEUE_PATIENCE)
                job.updated_at = moment
                taken.append(_record(job))
            return taken


# A queued job nobody started for this long is queued again, whatever the queues say (the
# workers' watch finds a job lost from its queue much sooner: take_lost). Duplicates are harmless:
# start() lets one worker run a job at a time, and every job skips what is already done.
QUEUE_PATIENCE = 600.0


def _new_job(session: Session, spec: JobSpec) -> Job:
    moment = _now()
    job = Job(
        story_id=spec.story,
        kind=spec.kind,
        state="queued",
        options=_options(spec),
        done=0.0,
        total=0.0,
        detail=WAITING,
        error="",
        attempts=0,
        lease_until=moment + timedelta(seconds=QUEUE_PATIENCE),
        created_at=moment,
        updated_at=moment,
    )
    session.add(job)
    session.flush()
    return job


def _record(job: Job) -> JobRecord:
    return JobRecord(
        id=job.id,
        story_id=job.story_id,
        spec=_spec(job),
        state=job.state,
        done=float(job.done),
        total=float(job.total),
        detail=job.detail,
        error=job.error,
        attempts=job.attempts,
        lease_until=_utc(job.lease_until) if job.lease_until else None,
        created_at=_utc(job.created_at),
        updated_at=_utc(job.updated_at),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- specs as JSON ---------------------------------------------------------------------------
def _options(spec: JobSpec) -> dict[str, Any]:
    """A spec's fields as the row's JSON (its story and kind have columns of their own): a
    mapping's keys as strings, a tuple as a list, the follower as {"kind": ..., **its fields}."""
    options: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.name == "story" or (f.name == "then" and value is None):
            continue
        if isinstance(value, JobSpec):
            value = {"kind": value.kind, **_options(value)}
        elif isinstance(value, Mapping):
            value = {str(key): item for key, item in value.items()}
        elif isinstance(value, tuple):
            value = list(value)
        options[f.name] = value
    return options


def _spec(job: Job) -> JobSpec:
    return _from_options(job.kind, job.story_id, job.options or {})


def _from_options(kind: str, story_id: int, options: Mapping[str, Any]) -> JobSpec:
    if kind not in JobSpec.kinds:
        raise ValueError(f"{kind!r} is not a job kind; use one of {', '.join(JobSpec.kinds)}.")
    cls = JobSpec.kinds[kind]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in options and f.name != "story":
            values[f.name] = _typed(options[f.name], hints[f.name], story_id)
    return cls(story=story_id, **values)


def _typed(value: Any, hint: Any, story_id: int) -> Any:
    """A JSON value as the field's type says (``X | None`` read as ``X``)."""
    if value is None:
        return None
    if isinstance(hint, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    origin = typing.get_origin(hint) or hint
    if origin is JobSpec:
        then = dict(value)
        return _from_options(then.pop("kind"), story_id, then)
    if origin is Mapping:
        key_type, item_type = typing.get_args(hint)
        return types.MappingProxyType({key_type(k): item_type(v) for k, v in value.items()})
    if origin is tuple:
        return tuple(typing.get_args(hint)[0](item) for item in value)
    return value
