"""How requests reach NVIDIA's service: a small transport interface, the real one over
``requests``, and ``MockTransport`` for unit tests (the shape of httpx's ``MockTransport``: a
function from request to response, no socket).

A transport sends one request and returns the whole answer, or raises a ``TransportError`` that
says what went wrong on the way: the time ran out, no connection could be opened at all, or the
connection failed some other way. What an answer means is the client's business (client.py).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from urllib3.exceptions import NewConnectionError, ReadTimeoutError

from ...errors import ServiceUnavailableError


@dataclass(frozen=True)
class Request:
    method: str  # "POST" (a picture) or "GET" (a queued picture's status)
    url: str
    headers: Mapping[str, str]
    body: Any = None  # JSON
    timeout: float = 60.0  # seconds until the whole answer must be in
    connect_timeout: float = 10.0  # seconds to open the connection, within ``timeout``


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict)  # names as sent (look up with get)
    content: bytes = b""

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (cut short, or not JSON at all)."""
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class TransportError(Exception):
    """The request got no answer; ``reason`` is short, for people (no key in it, see client)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TransportTimeout(TransportError):
    """The request's time ran out before the whole answer was in."""


class Unreachable(TransportError):
    """No connection could be opened at all (refused, no such host, no route): waiting a few
    seconds will not change that."""


class Transport(Protocol):
    def send(self, request: Request) -> Response: ...

    def close(self) -> None: ...


class MockTransport:
    """Answers every request with ``handler(request)``, in this process (for unit tests); the
    handler may raise a TransportError to stand for a network fault."""

    def __init__(self, handler: Callable[[Request], Response]):
        self.handler = handler

    def send(self, request: Request) -> Response:
        return self.handler(request)

    def close(self) -> None:
        pass


class RequestsTransport:
    """``size`` connection slots, each with its own requests.Session.

    A Session is not guaranteed thread-safe, so no two threads use one at once; holding a slot
    is also what bounds the number of requests in flight.
    """

    def __init__(self, size: int):
        self._slots = threading.BoundedSemaphore(max(1, size))
        self._idle: list[requests.Session] = []
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def send(self, request: Request) -> Response:
        started = time.monotonic()
        with self._session(request.timeout) as session:
            remaining = request.timeout - (time.monotonic() - started)  # less the wait for a slot
            if remaining <= 0:
                raise TransportTimeout("no connection was free in time")
            try:
                answer = session.request(
                    request.method,
                    request.url,
                    headers=dict(request.headers),
                    json=request.body,
                    timeout=(min(request.connect_timeout, remaining), remaining),
                )
            except requests.RequestException as error:
                raise _transport_error(error) from None
        return Response(answer.status_code, dict(answer.headers), answer.content)

    @contextmanager
    def _session(self, timeout: float) -> Iterator[requests.Session]:
        if not self._slots.acquire(timeout=max(0.0, timeout)):
            raise ServiceUnavailableError(
                "Every connection to the picture service stayed busy until this picture's time "
                "ran out. Try again in a minute."
            )
        try:
            with self._lock:
                session = self._idle.pop() if self._idle else self._new_session()
            try:
                yield session
            finally:
                with self._lock:
                    self._idle.append(session)
        finally:
            self._slots.release()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._all:
                session.close()


def _transport_error(error: requests.RequestException) -> TransportError:
    cause = error.args[0] if error.args else None
    # requests reports a read timeout in the middle of a body as a ConnectionError
    if isinstance(error, requests.Timeout) or isinstance(cause, ReadTimeoutError):
        return TransportTimeout("no answer in time")
    reason = _describe(error)
    if isinstance(getattr(cause, "reason", None), NewConnectionError):
        return Unreachable(reason)
    return TransportError(reason)


def _describe(error: requests.RequestException) -> str:
    """A short reason from a requests exception, e.g. 'Connection refused'."""
    reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))
    if reason:
        return reason[1].strip()
    if isinstance(error, requests.ConnectionError):
        return "the connection was closed without an answer"
    return type(error).__name__
