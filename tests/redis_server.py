"""A throwaway Redis server for the queue tests, started from Debian's ``redis-server`` package.

``redis_url`` (session scope) starts the server on 127.0.0.1 at a free port, in a temporary
folder, with nothing saved to disk, and yields its URL; the server is stopped when the session
ends. Set S2I_TEST_REDIS_URL to use an existing server instead. ``redis_server`` is a server of
one test's own, which it may kill and start again. A missing binary fails the tests: CI installs
the package.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import free_port

REDIS_SERVER = "redis-server"


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process on 127.0.0.1, nothing saved to disk; it can be killed and
    started again on the same port (a queue outage)."""

    def __init__(self) -> None:
        self.binary = shutil.which(REDIS_SERVER)
        if self.binary is None:
            pytest.fail(
                "redis-server was not found. The queue tests run against a real Redis server: "
                "install Debian's package with 'apt-get install redis-server' (.ci/run does), or "
                "set S2I_TEST_REDIS_URL.",
                pytrace=False,
            )
        self.folder = Path(tempfile.mkdtemp(prefix="s2i-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.folder / "server.log"
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir",
             str(self.folder), "--save", "", "--appendonly", "no", "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not _answers_ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                pytest.fail(
                    f"redis-server did not start on port {self.port}:\n{tail}", pytrace=False
                )
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """Gone at once, as a crashed or restarted server is (its queue with it)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of an empty Redis database for this test session."""
    if url := os.environ.get("S2I_TEST_REDIS_URL", ""):
        yield url
        return
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A Redis server of the test's own, to kill and start again."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()
