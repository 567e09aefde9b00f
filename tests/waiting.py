"""The one way tests wait: ask until the answer comes, with a generous hang guard.

Tests run on loaded machines, so they wait for what they can observe (a row in the database, a
page that answers, a job that ended), never for an amount of time; ``timeout`` only stops a test
that would otherwise hang, and is never a measurement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    check: Callable[[], T],
    what: str = "what the test waits for",
    timeout: float = 90.0,
    every: float = 0.1,
    ignoring: tuple[type[BaseException], ...] = (),
    pause: Callable[[float], None] = time.sleep,
) -> T:
    """Ask ``check`` every ``every`` seconds until it gives a true value, and return that value.
    Exceptions of the types in ``ignoring`` count as "not yet" (a server still starting); past
    ``timeout`` seconds an AssertionError names ``what`` was waited for. ``pause`` waits between
    asks (a browser page's own wait, so it keeps handling its events)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except ignoring:
            value = None  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        pause(every)
