"""Teacher passcode guessing, slowed down where it comes from and never locking anyone else out.

Wrong passcodes are counted per browser and per network address. After ``BROWSER_FREE_TRIES``
wrong ones in a browser (or ``ADDRESS_FREE_TRIES`` from one address: private windows on one
tablet count together), every further try from there first waits, twice as long each time (30 s,
1 min, 2 min, up to 5 min); while a wait runs the passcode is not even compared, so guessing
gains nothing. Another browser, at another address or at the same one, is not slowed by them: the
right passcode works there at once. Over the whole app at most ``OVERALL_PER_MINUTE`` wrong
passcodes are compared a minute: past that ceiling each try waits its turn (it is slowed, never
refused for long), so guessing from many browsers at once stays slow too. The right passcode
clears its browser's count. Failures are kept in the database, so the limits hold across
processes and replicas; browsers and addresses are kept as hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from sqlalchemy import Engine, Float, Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from .database import writer_of
from .tables import Base

BROWSER_FREE_TRIES = 5  # wrong passcodes from one browser before each try there has to wait
ADDRESS_FREE_TRIES = 20  # ... from one network address (many browsers there, or private windows)
FIRST_WAIT_S = 30.0
LONGEST_WAIT_S = 300.0
FORGET_AFTER_S = 3600.0  # wrong tries older than this no longer count
OVERALL_PER_MINUTE = 30  # wrong passcodes compared per minute in the whole app, at most
PATIENCE_S = 60.0  # how long one try waits for its turn under that ceiling before giving up
OVERALL = "all"


class PasscodeFailure(Base):
    __tablename__ = "passcode_failures"
    __table_args__ = (
        Index("ix_passcode_failures_scope_failed_at", "scope", "failed_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # a browser's or an address's hash, or "all"
    failed_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str = ""  # why not, as a teacher reads it
    wait_s: float = 0.0  # seconds before the next try is compared at all

    def __bool__(self) -> bool:
        return self.ok


class PasscodeThrottle:
    def __init__(self, engine: Engine, clock=time.time, sleep=time.sleep):
        self._writer = writer_of(engine)
        self._clock = clock
        self._sleep = sleep

    def check(self, passcode: str, entered: str, browser: str, address: str = "") -> Verdict:
        """Compare ``entered`` (constant time) unless ``browser`` or ``address`` must wait
        first; under the app's ceiling the comparison waits its turn."""
        scopes = {_scope("browser", browser): BROWSER_FREE_TRIES}
        if address:
            scopes[_scope("address", address)] = ADDRESS_FREE_TRIES
        waited = 0.0
        while True:
            verdict, turn = self._try(passcode, entered, scopes)
            if verdict is not None:
                return verdict
            if waited + turn > PATIENCE_S:
                return Verdict(False, BUSY, turn)
            self._sleep(turn)
            waited += turn

    def _try(self, passcode: str, entered: str, scopes: dict[str, int]):
        """(verdict, 0) once compared or refused; (None, seconds) to wait for the app's turn."""
        with self._writer.begin() as connection:
            now = self._clock()
            connection.execute(
                delete(PasscodeFailure).where(PasscodeFailure.failed_at < now - FORGET_AFTER_S)
            )
            wait = max(_wait(connection, scope, free, now) for scope, free in scopes.items())
            if wait > 0:
                return Verdict(False, _too_many(wait), wait), 0.0
            turn = _overall_turn(connection, now)
            if turn > 0:
                return None, turn
            if hmac.compare_digest(entered.strip().encode(), passcode.encode()):
                browser = next(iter(scopes))
                connection.execute(delete(PasscodeFailure).where(PasscodeFailure.scope == browser))
                return Verdict(True), 0.0
            connection.execute(
                PasscodeFailure.__table__.insert(),
                [{"scope": scope, "failed_at": now} for scope in (*scopes, OVERALL)],
            )
            wait = max(_wait(connection, scope, free, now) for scope, free in scopes.items())
        wrong = "That passcode is not right. Ask the person who set up the app."
        return Verdict(False, f"{wrong} {_too_many(wait)}" if wait else wrong, wait), 0.0


BUSY = (
    "Many wrong passcodes are being tried on this app right now, so every try waits its turn. "
    "Try again in a minute."
)


def _scope(kind: str, name: str) -> str:
    return hashlib.sha256(f"{kind}|{name}".encode()).hexdigest()[:32]


def _wait(connection, scope: str, free_tries: int, now: float) -> float:
    count, last = connection.execute(
        select(func.count(), func.max(PasscodeFailure.failed_at)).where(
            PasscodeFailure.scope == scope
        )
    ).one()
    if count < free_tries:
        return 0.0
    delay = min(FIRST_WAIT_S * 2 ** (count - free_tries), LONGEST_WAIT_S)
    return max(last + delay - now, 0.0)


def _overall_turn(connection, now: float) -> float:
    """Seconds until the app may compare one more passcode under its per-minute ceiling."""
    recent = (
        select(PasscodeFailure.failed_at)
        .where(PasscodeFailure.scope == OVERALL, PasscodeFailure.failed_at > now - 60.0)
        .order_by(PasscodeFailure.failed_at.desc())
        .offset(OVERALL_PER_MINUTE - 1)
        .limit(1)
    )
    oldest_counted = connection.scalar(recent)
    return 0.0 if oldest_counted is None else max(oldest_counted + 60.0 - now, 0.001)


def _too_many(wait_s: float) -> str:
    minutes, seconds = divmod(round(wait_s), 60)
    when = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    return f"Too many wrong passcodes: the next try is possible in {when}."
