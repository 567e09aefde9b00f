"""One request rate per API key for every process and replica sharing the database.

Each request takes a slot first: a row (key id, time) in ``request_slots``. A slot is free when
fewer than ``max_per_window`` rows of that key are younger than ``window_s``. Taking one is a
single write transaction, serialised by SQLite's write lock or by a PostgreSQL advisory lock per
key, and timed by the database's own clock on PostgreSQL, so replicas with skewed clocks still
share one window. The key itself is never stored, only a hash of it.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from sqlalchemy import Engine, Float, Index, Integer, String, delete, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from ..settings import Settings
from .database import open_engine, upgrade_schema, writer_of
from .tables import Base

# A request reaches the service a little after its slot is taken, and the service counts
# arrivals: each slot stays taken this much longer than the window, so a slow start of one
# request cannot let the next window's first request land inside the service's window.
ARRIVAL_MARGIN_S = 1.0


class RequestSlot(Base):
    __tablename__ = "request_slots"
    __table_args__ = (
        Index("ix_request_slots_key_id_taken_at", "key_id", "taken_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64))  # a hash of the API key, never the key
    taken_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch, database clock


def key_id(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


class SharedRateLimiter:
    """At most ``max_per_window`` acquisitions per ``window_s`` seconds for one key, counted in
    the database: the same shape as ``pictures.limiter.RequestLimiter``."""

    def __init__(self, engine: Engine, api_key: str, max_per_window: int, window_s: float = 60.0):
        if max_per_window < 1 or window_s <= 0:
            raise ValueError("A rate limit needs at least one request per a positive window.")
        self.max_per_window = max_per_window
        self.window_s = window_s
        self._hold_s = window_s + ARRIVAL_MARGIN_S  # how long a slot stays taken
        self._writer = writer_of(engine)
        self._key = key_id(api_key)
        self._lock_id = int(self._key[:15], 16)  # a PostgreSQL advisory lock of this key
        self.last_taken_at = 0.0  # when this limiter last took a slot (epoch seconds, database)
        self.clock = time.monotonic  # what deadlines are readings of
        self.sleep = time.sleep  # how it waits for a slot; tests may record instead

    @classmethod
    def for_settings(cls, settings: Settings, window_s: float = 60.0) -> SharedRateLimiter:
        """``S2I_IMAGE_RPM`` per minute for the configured key, in the configured database."""
        engine = open_engine(settings.db_url)
        upgrade_schema(writer_of(engine), Path(settings.data_dir).resolve())
        return cls(engine, settings.nvidia_api_key, settings.image_rpm, window_s)

    def acquire(self, deadline: float | None = None) -> bool:
        """Take a slot, waiting for one to free. False, without waiting, if none frees before
        ``deadline`` (a ``time.monotonic()`` value)."""
        while True:
            wait = self._try_take()
            if wait == 0:
                return True
            if deadline is not None and self.clock() + wait > deadline:
                return False
            self.sleep(wait)

    def wait_time(self) -> float:
        with self._writer.begin() as connection:
            now = self._clock(connection)
            return self._wait(connection, now)

    def _try_take(self) -> float:
        """Take a slot now and return 0, or return the seconds until one frees."""
        with self._writer.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": self._lock_id})
            now = self._clock(connection)
            connection.execute(
                delete(RequestSlot).where(
                    RequestSlot.key_id == self._key, RequestSlot.taken_at <= now - self._hold_s
                )
            )
            wait = self._wait(connection, now)
            if wait == 0:
                connection.execute(
                    RequestSlot.__table__.insert().values(key_id=self._key, taken_at=now)
                )
                self.last_taken_at = now
            return wait

    def _wait(self, connection, now: float) -> float:
        recent = select(func.count(), func.min(RequestSlot.taken_at)).where(
            RequestSlot.key_id == self._key, RequestSlot.taken_at > now - self._hold_s
        )
        count, oldest = connection.execute(recent).one()
        if count < self.max_per_window:
            return 0.0
        return max(oldest + self._hold_s - now, 0.001)

    @staticmethod
    def _clock(connection) -> float:
        if connection.dialect.name == "postgresql":
            return float(connection.scalar(text("SELECT extract(epoch FROM clock_timestamp())")))
        return time.time()
