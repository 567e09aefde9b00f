"""Teacher sessions, held on the server: opened at unlock (or at sign-in), ended by Lock, by "Lock
on every device", or when the lesson is over.

A browser proves its session with a random cookie that only the server sets (see
s2i_ui/session_routes.py); the database keeps a hash of it, never the cookie itself. A page cannot
set such a cookie, so it hands the browser a one-time ticket instead: valid for ``TICKET_S``
seconds, for the browser that asked for it only, and swapped once for the cookie. A signed-in
teacher's session is also found by its sign-in (``login``, a hash of the provider's one-time
claims), so signing out ends it in every tab that still holds that sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, Float, Integer, String, Text, delete, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .database import writer_of
from .tables import Base

TICKET_S = 60.0  # a page's ticket must be swapped for the cookie this soon
KEEP_ENDED_S = 86_400.0  # ended sessions are kept this long (a revoked cookie says "locked")


class TeacherSession(Base):
    __tablename__ = "teacher_sessions"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(Text, index=True)  # "" the passcode teacher, or an e-mail
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # the cookie's
    login_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # one sign-in's
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_until: Mapped[float | None] = mapped_column(Float)
    browser: Mapped[str] = mapped_column(String(64))  # hash of the browser that opened it
    device: Mapped[str] = mapped_column(Text)  # "Chrome on Windows": for the teacher's list
    created_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch
    expires_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


@dataclass(frozen=True)
class SessionRecord:
    id: int
    user: str
    device: str
    created_at: float
    expires_at: float
    ended: bool  # locked, signed out or past its lesson


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionBook:
    def __init__(self, engine: Engine, clock=time.time):
        self._engine = engine
        self._writer = writer_of(engine)
        self._clock = clock

    def open(
        self, user: str, hours: float, browser: str = "", device: str = "", login: str = ""
    ) -> SessionRecord:
        """A new session for ``user`` (never an old one: nothing can be fixed in advance)."""
        now = self._clock()
        row = {
            "user": user,
            "login_hash": digest(login) if login else None,
            "browser": digest(browser),
            "device": device[:80],
            "created_at": now,
            "expires_at": now + hours * 3600,
        }
        with self._writer.begin() as connection:
            connection.execute(
                delete(TeacherSession).where(TeacherSession.expires_at < now - KEEP_ENDED_S)
            )
            new_id = connection.execute(TeacherSession.__table__.insert().values(**row))
            session_id = new_id.inserted_primary_key[0]
        return SessionRecord(session_id, user, row["device"], now, row["expires_at"], False)

    def get(self, session_id: int | None) -> SessionRecord | None:
        """The session, live or ended; None if there never was one (or it was cleared away)."""
        if not isinstance(session_id, int) or isinstance(session_id, bool):
            return None  # only ever an id this server put in the session
        return self._one(TeacherSession.id == session_id)

    def by_token(self, token: str | None) -> SessionRecord | None:
        return self._one(TeacherSession.token_hash == digest(token)) if token else None

    def by_login(self, login: str) -> SessionRecord | None:
        return self._one(TeacherSession.login_hash == digest(login)) if login else None

    def live(self, session_id: int | None) -> SessionRecord | None:
        found = self.get(session_id)
        return found if found and not found.ended else None

    def ticket(self, session_id: int, browser: str) -> str:
        """A one-time ticket the browser ``browser`` swaps for this session's cookie."""
        ticket = secrets.token_urlsafe(32)
        with self._writer.begin() as connection:
            connection.execute(
                update(TeacherSession)
                .where(TeacherSession.id == session_id)
                .values(
                    ticket_hash=digest(ticket),
                    ticket_until=self._clock() + TICKET_S,
                    browser=digest(browser),
                )
            )
        return ticket

    def redeem(self, ticket: str, browser: str) -> tuple[str, SessionRecord] | None:
        """Swap a ticket for a new cookie value (once, in time, from the same browser only)."""
        if not ticket:
            return None
        token = secrets.token_urlsafe(32)
        with self._writer.begin() as connection:
            now = self._clock()
            row = connection.execute(
                select(TeacherSession).where(TeacherSession.ticket_hash == digest(ticket))
            ).first()
            if row is None:
                return None
            connection.execute(
                update(TeacherSession)
                .where(TeacherSession.id == row.id)
                .values(ticket_hash=None, ticket_until=None)
            )
            if row.browser != digest(browser) or (row.ticket_until or 0) < now:
                return None
            if row.revoked_at is not None or row.expires_at <= now:
                return None
            connection.execute(
                update(TeacherSession)
                .where(TeacherSession.id == row.id)
                .values(token_hash=digest(token))
            )
        return token, _record(row, now)

    def revoke(self, session_id: int | None = None, token: str | None = None) -> int:
        """End one session, named by its id or by its cookie."""
        which = [TeacherSession.id == session_id] if session_id else []
        which += [TeacherSession.token_hash == digest(token)] if token else []
        return self._revoke(or_(*which)) if which else 0

    def revoke_login(self, login: str) -> int:
        return self._revoke(TeacherSession.login_hash == digest(login)) if login else 0

    def revoke_user(self, user: str) -> int:
        """End every session of ``user`` on every device ("Lock on every device")."""
        return self._revoke(TeacherSession.user == user)

    def of_user(self, user: str) -> list[SessionRecord]:
        """The live sessions of ``user``, newest first."""
        now = self._clock()
        statement = (
            select(TeacherSession)
            .where(
                TeacherSession.user == user,
                TeacherSession.revoked_at.is_(None),
                TeacherSession.expires_at > now,
            )
            .order_by(TeacherSession.created_at.desc())
        )
        with self._engine.connect() as connection:
            return [_record(row, now) for row in connection.execute(statement)]

    def _revoke(self, which) -> int:
        with self._writer.begin() as connection:
            ended = connection.execute(
                update(TeacherSession)
                .where(which, TeacherSession.revoked_at.is_(None))
                .values(revoked_at=self._clock(), ticket_hash=None, ticket_until=None)
            )
            return ended.rowcount

    def _one(self, which) -> SessionRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(TeacherSession).where(which)).first()
        return None if row is None else _record(row, self._clock())


def _record(row, now: float) -> SessionRecord:
    ended = row.revoked_at is not None or row.expires_at <= now
    return SessionRecord(row.id, row.user, row.device, row.created_at, row.expires_at, ended)
