"""A throwaway Redis server for the queue tests, started from Debian's ``redis-server`` package.

``redis_url`` (session scope) starts the server on 127.0.0.1 at a free port, in a temporary
folder, with nothing saved to disk, and yields its URL; the server is stopped when the session
ends. Set S2I_TEST_REDIS_URL to use an existing server instead. A missing binary fails the tests:
CI installs the package.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import free_port
from tests.waiting import wait_for

REDIS_SERVER = "redis-server"


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of an empty Redis database for this test session."""
    if url := os.environ.get("S2I_TEST_REDIS_URL", ""):
        yield url
        return
    binary = shutil.which(REDIS_SERVER)
    if binary is None:
        pytest.fail(
            "redis-server was not found. The queue tests run against a real Redis server: install "
            "Debian's package with 'apt-get install redis-server' (.ci/run does), or set "
            "S2I_TEST_REDIS_URL.",
            pytrace=False,
        )
    folder = Path(tempfile.mkdtemp(prefix="s2i-redis-"))
    port = free_port()
    log = folder / "server.log"
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder),
         "--save", "", "--appendonly", "no", "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        try:
            wait_for(lambda: _up(server, port), "redis-server", timeout=30, every=0.05)
        except AssertionError:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"redis-server did not start on port {port}:\n{tail}", pytrace=False)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def _up(server: subprocess.Popen, port: int) -> bool:
    assert server.poll() is None, "redis-server exited"
    return _answers_ping(port)
