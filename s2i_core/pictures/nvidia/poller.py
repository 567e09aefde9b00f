"""Collecting a picture the service queued: a 202 answer carries a ticket (``NVCF-REQID``), and
the picture is asked for at the status endpoint until it is ready or the picture's time runs out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...errors import ServiceUnavailableError
from .transport import Response


class TimedOut(ServiceUnavailableError):
    """This picture's time budget ran out during a request."""


@dataclass
class Poller:
    status_url: str  # NVCF's status endpoint; the ticket is appended
    get: Callable[[str, float], Response]  # (url, deadline) -> the answer; raises TimedOut
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    interval: float = 1.0  # seconds between polls (half the time left, when less remains)

    def collect(self, response: Response, deadline: float) -> Response:
        """The final answer to a request answered 202 (a 200, or an error to read)."""
        ticket = response.header("NVCF-REQID").strip()
        if not ticket:
            raise ServiceUnavailableError(
                "The picture service queued this picture without a ticket to collect it. "
                "Try again in a minute."
            )
        queued_at = self.clock()
        url = f"{self.status_url}/{ticket}"
        while response.status_code == 202:
            remaining = deadline - self.clock()
            if remaining > 0.05:
                self.sleep(min(self.interval, remaining / 2))
                try:
                    response = self.get(url, deadline)
                    continue
                except TimedOut:
                    pass
            raise ServiceUnavailableError(
                f"The picture service still had this picture queued after "
                f"{self.clock() - queued_at:.0f} s. Try again in a few minutes."
            )
        if response.status_code == 404:  # the queued request expired or was dropped
            raise ServiceUnavailableError(
                "The picture service lost this queued picture. Try drawing it again."
            )
        return response
