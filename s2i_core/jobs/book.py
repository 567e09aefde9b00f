"""The job book: every queued job as a row in the library's database, the one source of truth.

The task queue only carries job ids. What a job is, how far it got, whether a teacher cancelled
it and whether its worker is still alive all live here, so any app replica or worker sees the same
progress, and a job whose worker died (its lease ran out) is queued again by another worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ..errors import JobNotFoundError
from ..storage import Job, Library

KINDS = ("transcribe", "scenes", "draw", "export")
ACTIVE = ("queued", "running")
STATES = (*ACTIVE, "done", "failed", "cancelled")
MAX_ATTEMPTS = 5  # a job whose worker died this many times is given up, with a message


@dataclass(frozen=True)
class JobRecord:
    id: int
    story_id: int
    kind: str
    state: str
    options: dict[str, Any]
    done: float
    total: float
    detail: str
    error: str
    attempts: int
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None


class JobBook:
    """Reads and writes jobs through the library's database connection. Thread-safe."""

    def __init__(self, library: Library):
        self.library = library
        self._reading = sessionmaker(library.engine)
        self._writing = sessionmaker(library.engine.execution_options(s2i_writer=True))

    def create(self, story_id: int, kind: str, **options: Any) -> JobRecord:
        """A queued job. ``then``, in ``options``, is the job that follows when this one is done
        ({"kind": ..., **its options}): a drawing that must wait for the scenes, for example."""
        self.library.get_story(story_id)  # a clear "not found" for a deleted story
        with self._writing.begin() as session:
            return _record(_new_job(session, story_id, kind, options))

    def get(self, job_id: int) -> JobRecord:
        with self._reading() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise JobNotFoundError(
                    f"Job {job_id} is not in the library; its story may have been deleted."
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
            then = dict((job.options or {}).get("then") or {})
            if state != "done" or not then:
                return None
            return _record(_new_job(session, job.story_id, then.pop("kind"), then))

    def chain(self, job_id: int, then: dict[str, Any]) -> bool:
        """Have an active job start ``then`` when it is done. False when it is not active any
        more (then start ``then`` yourself): a job never finishes without seeing its ``then``."""
        options = self.get(job_id).options | {"then": then}
        statement = (
            update(Job).where(Job.id == job_id, Job.state.in_(ACTIVE)).values(options=options)
        )
        with self._writing.begin() as session:
            return session.execute(statement).rowcount == 1

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
            .values(state="cancelled", detail="Cancelled", lease_until=None, updated_at=_now())
        )
        with self._writing.begin() as session:
            return session.execute(statement).rowcount

    def cancel_job(self, job_id: int) -> bool:
        """Cancel one active job; its worker stops at its next step. False if it had ended."""
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.state.in_(ACTIVE))
            .values(state="cancelled", detail="Cancelled", lease_until=None, updated_at=_now())
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
        took one from its queue and died before starting it. Each is returned once, to be queued
        again, after ``quiet_for`` seconds without news."""
        moment = _now()
        quiet = moment - timedelta(seconds=quiet_for)
        with self._writing.begin() as session:
            statement = select(Job).where(Job.state == "queued", Job.updated_at <= quiet)
            lost = [job for job in session.scalars(statement) if job.id not in waiting]
            for job in lost:
                job.updated_at = moment
            return [_record(job) for job in lost]


# A queued job nobody started for this long is queued again, whatever the queues say (the
# workers' watch finds a job lost from its queue much sooner: take_lost). Duplicates are harmless:
# start() lets one worker run a job at a time, and every job skips what is already done.
QUEUE_PATIENCE = 600.0


def _new_job(session: Session, story_id: int, kind: str, options: dict[str, Any]) -> Job:
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a job kind; use one of {', '.join(KINDS)}.")
    moment = _now()
    job = Job(
        story_id=story_id,
        kind=kind,
        state="queued",
        options=options,
        done=0.0,
        total=0.0,
        detail="Waiting for a worker",
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
        kind=job.kind,
        state=job.state,
        options=dict(job.options or {}),
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
