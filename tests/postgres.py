"""A throwaway PostgreSQL server for the tests, started from Debian's ``postgresql`` package.

``postgres_url`` (session scope) runs ``initdb`` into a temporary folder, starts the server on
127.0.0.1 at a free port with its socket in that folder, creates one database and yields its
SQLAlchemy URL; the server is stopped and the folder removed when the session ends. As root the
server runs as the ``postgres`` system user (``initdb`` refuses root). Set S2I_TEST_DATABASE_URL to
use an existing server instead. Missing binaries fail the tests: CI installs the package.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ROOT = Path("/usr/lib/postgresql")
DATABASE = "s2i_test"
SUPERUSER = "postgres"


def pg_bin_dir() -> Path:
    """The newest installed server's bin folder (15 on Debian 12, 17 on Debian 13)."""
    found = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail(
            f"PostgreSQL server binaries were not found under {PG_ROOT}/<version>/bin. The storage "
            "tests run against a real PostgreSQL server: install Debian's package with "
            "'apt-get install postgresql' (.ci/run does), or set S2I_TEST_DATABASE_URL.",
            pytrace=False,
        )
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self, bin_dir: Path, folder: Path):
        self.bin_dir = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.as_server_user: list[str] = []
        if os.geteuid() == 0:
            self.as_server_user = ["runuser", "-u", SUPERUSER, "--"]
            shutil.chown(folder, SUPERUSER, SUPERUSER)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def run(self, tool: str, *args: str) -> None:
        command = [*self.as_server_user, str(self.bin_dir / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(
                f"{tool} failed ({result.returncode}): {result.stderr or result.stdout}\n{tail}",
                pytrace=False,
            )

    def start(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(self.password)
        if self.as_server_user:
            shutil.chown(password_file, SUPERUSER, SUPERUSER)
        self.run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={password_file}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.folder / "server.log"), "-o", options,
        )  # fmt: skip
        self.run(
            "createdb", "-h", str(self.folder), "-p", str(self.port), "-U", SUPERUSER, DATABASE
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of an empty PostgreSQL database for this test session."""
    if url := os.environ.get("S2I_TEST_DATABASE_URL", ""):
        yield url
        return
    bin_dir = pg_bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="s2i-postgres-"))
    server = PostgresServer(bin_dir, folder)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
