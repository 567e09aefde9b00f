"""Outages of what the workers depend on (the job queue, the library database), said once.

While Redis is restarted, every consumer thread, the scheduler and the watch each fail several
times a second; a traceback each time would fill the log (16-24 KB/s) and hide the one fact that
matters. An ``Outage`` logs one line when the first failure comes, nothing while it lasts, and one
line when the first success says it is over, with how long it took.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("s2i_core.jobs")


class Outage:
    """One thing that may go away (``what``: "The job queue (Redis at host:6379)")."""

    def __init__(self, what: str, consequence: str):
        self.what = what
        self.consequence = consequence  # what happens meanwhile, for the first line
        self._since: float | None = None
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self._since is not None

    def away(self, error: BaseException) -> None:
        """A failure to reach it: the first of an outage is logged, the others are not."""
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        log.warning(
            "%s cannot be reached (%s: %s); %s",
            self.what,
            type(error).__name__,
            _first_line(error),
            self.consequence,
        )

    def back(self) -> None:
        """A success: if it was away, say it is back."""
        if self._since is None:  # the common case, without the lock
            return
        with self._lock:
            since, self._since = self._since, None
        if since is not None:
            log.warning("%s is back after %.1f s.", self.what, time.monotonic() - since)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else "no details"
