"""Request-rate limits for a picture service: a small interface and the in-process implementation.

A backend holds one ``RequestLimiter`` and calls ``acquire`` before every request it sends. Any
object with this shape can stand in (for example one that shares the count between processes
through the database); ``limiter_for`` is the one place that picks the implementation.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from ..settings import Settings


class RequestLimiter(Protocol):
    max_per_window: int  # requests allowed in any window
    window_s: float  # the window's length in seconds

    def acquire(self, deadline: float | None = None) -> bool:
        """Take a slot, waiting for one to free. False, without waiting, if none frees before
        ``deadline`` (a ``time.monotonic()`` value)."""
        ...

    def wait_time(self) -> float:
        """Seconds until a slot frees (0 when one is free now)."""
        ...


class RateLimiter:
    """At most ``max_per_window`` acquisitions in any rolling window of ``window_s`` seconds, for
    the threads of one process."""

    def __init__(
        self,
        max_per_window: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_per_window < 1 or window_s <= 0:
            raise ValueError("A rate limit needs at least one request per a positive window.")
        self.max_per_window = max_per_window
        self.window_s = window_s
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()
        self._clock = clock  # the backend's clock: deadlines are its readings
        self._sleep = sleep

    def acquire(self, deadline: float | None = None) -> bool:
        while True:
            with self._lock:
                now = self._clock()
                self._forget_old(now)
                if len(self._stamps) < self.max_per_window:
                    self._stamps.append(now)
                    return True
                free_at = self._stamps[0] + self.window_s
            if deadline is not None and free_at > deadline:
                return False
            self._sleep(free_at - now)

    def wait_time(self) -> float:
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            if len(self._stamps) < self.max_per_window:
                return 0.0
            return self._stamps[0] + self.window_s - now

    def _forget_old(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.window_s:
            self._stamps.popleft()


def limiter_for(
    settings: Settings,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RequestLimiter | None:
    """The limiter a backend uses for these settings: ``S2I_IMAGE_RPM`` per minute."""
    return RateLimiter(settings.image_rpm, 60.0, clock, sleep) if settings.image_rpm > 0 else None
