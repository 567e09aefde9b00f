"""Teacher passcode guessing, slowed down: after ``FREE_TRIES`` wrong passcodes in a browser
session, or in the whole app, every further try first waits, twice as long each time (30 s, 1 min,
2 min, up to 5 min). While a wait runs the passcode is not even compared, so guessing gains
nothing; the right passcode clears the count. Failures are kept in the database, so the limit
holds across processes and replicas; sessions are kept as hashes."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from sqlalchemy import Engine, Float, Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from .database import writer_of
from .tables import Base

FREE_TRIES = 5  # wrong passcodes before each try has to wait
FIRST_WAIT_S = 30.0
LONGEST_WAIT_S = 300.0
FORGET_AFTER_S = 3600.0  # wrong tries older than this no longer count
OVERALL = "all"


class PasscodeFailure(Base):
    __tablename__ = "passcode_failures"
    __table_args__ = (
        Index("ix_passcode_failures_scope_failed_at", "scope", "failed_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # a session's hash, or "all"
    failed_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str = ""  # why not, as a teacher reads it
    wait_s: float = 0.0  # seconds before the next try is compared at all

    def __bool__(self) -> bool:
        return self.ok


class PasscodeThrottle:
    def __init__(self, engine: Engine, clock=time.time):
        self._writer = writer_of(engine)
        self._clock = clock

    def check(self, passcode: str, entered: str, session: str) -> Verdict:
        """Compare ``entered`` (constant time) unless ``session`` or the app must wait first."""
        scopes = (hashlib.sha256(session.encode()).hexdigest()[:32], OVERALL)
        with self._writer.begin() as connection:
            now = self._clock()
            connection.execute(
                delete(PasscodeFailure).where(PasscodeFailure.failed_at < now - FORGET_AFTER_S)
            )
            wait = max(_wait(connection, scope, now) for scope in scopes)
            if wait > 0:
                return Verdict(False, _too_many(wait), wait)
            if hmac.compare_digest(entered.strip().encode(), passcode.encode()):
                connection.execute(delete(PasscodeFailure).where(PasscodeFailure.scope.in_(scopes)))
                return Verdict(True)
            connection.execute(
                PasscodeFailure.__table__.insert(),
                [{"scope": scope, "failed_at": now} for scope in scopes],
            )
            wait = max(_wait(connection, scope, now) for scope in scopes)
        wrong = "That passcode is not right. Ask the person who set up the app."
        return Verdict(False, f"{wrong} {_too_many(wait)}" if wait else wrong, wait)


def _wait(connection, scope: str, now: float) -> float:
    count, last = connection.execute(
        select(func.count(), func.max(PasscodeFailure.failed_at)).where(
            PasscodeFailure.scope == scope
        )
    ).one()
    if count < FREE_TRIES:
        return 0.0
    delay = min(FIRST_WAIT_S * 2 ** (count - FREE_TRIES), LONGEST_WAIT_S)
    return max(last + delay - now, 0.0)


def _too_many(wait_s: float) -> str:
    minutes, seconds = divmod(round(wait_s), 60)
    when = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    return f"Too many wrong passcodes: the next try is possible in {when}."
