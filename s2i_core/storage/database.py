"""The database connection: engine set-up for SQLite and PostgreSQL, and the schema upgrade."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session

from ..errors import StorageError
from ..i18n import msg
from .tables import MIGRATIONS_DIR

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_MIGRATION_LOCK_ID = 0x5321  # any constant: serialises schema upgrades of concurrent processes


def open_engine(url: str) -> Engine:
    """An engine whose failures read as one ``StorageError`` sentence (see _explain). A SQLite
    file in a folder this process cannot write is opened read-only: reading still works. A SQLite
    file replaced or damaged while the engine is open refuses writes (see LibraryFile)."""
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True)
    else:
        path = Path(make_url(url).database or "")
        if path.exists() and not os.access(path.parent, os.W_OK):
            url = f"sqlite:///file:{path}?immutable=1&uri=true"  # no journal, no lock files
        engine = create_engine(url, connect_args={"check_same_thread": False})
        if path.name and str(path) != ":memory:":
            LibraryFile(path, _where(engine)).watch(engine)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    event.listen(engine, "handle_error", _explain)
    return engine


def _explain(context: ExceptionContext) -> None:
    """Database failures a school's IT person can act on, as one sentence, instead of SQL."""
    cause = str(context.original_exception).lower()
    where = _where(context.engine)
    if "not a database" in cause or "malformed" in cause:
        message = damaged(where)
    elif "readonly" in cause or "read-only" in cause:
        message = msg(
            "The library {where} is read-only here, so nothing can be saved. Stories can still "
            "be listed, shown and exported; ask for write access to the data folder to change "
            "them.",
            where=where,
        )
    elif "disk is full" in cause or "no space" in cause:
        message = msg(
            "The disk holding the library {where} is full. Free some space and try again; "
            "everything saved before is kept.",
            where=where,
        )
    elif "unable to open database" in cause:
        message = msg(
            "The library database {where} cannot be opened: check that the data folder exists "
            "and that this account may read and write it.",
            where=where,
        )
    else:
        return  # anything else keeps its own error
    raise StorageError(message) from context.original_exception


def damaged(where: str) -> str:
    return msg(
        "The library database {where} is damaged and cannot be read. Restore it from a "
        "backup, or move it away to start an empty library.",
        where=where,
    )


class LibraryFile:
    """The SQLite file an engine opened. Before each write it is checked to be the same file
    (device and inode): a file renamed over it, deleted or restored from a backup while the app
    runs would otherwise take the app's writes into a file that no longer is the library (its
    connections keep the old one open), lost on the next start. Such a write is refused with what
    a new process would say of the file there. (A file overwritten in place is the same file:
    SQLite's own "not a database" then reads as the same damaged message, see _explain.)

    The file is never opened here except through SQLite: closing any other descriptor of a
    database file drops every lock SQLite holds on it in this process."""

    def __init__(self, path: Path, where: str):
        self.path, self.where = path, where
        self.identity: tuple[int, int] | None = None  # of the file first opened

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "connect", self._connected)
        event.listen(engine, "begin", self._before_write)

    def _connected(self, _dbapi_connection: Any, _record: Any) -> None:
        if self.identity is None:
            self.identity = _identity(self.path)

    def _before_write(self, connection: Any) -> None:
        if not connection.get_execution_options().get("s2i_writer", False):
            return
        now = _identity(self.path)
        if now is None or now != self.identity:
            raise StorageError(self._refusal(now))

    def _refusal(self, now: tuple[int, int] | None) -> str:
        if now is None:
            return msg(
                "The library database {where} was moved or deleted while this program was "
                "running, so this change was not saved. Put it back, or restart to open the "
                "library that is there then.",
                where=self.where,
            )
        if not _readable(self.path):
            return damaged(self.where)
        return msg(
            "The library database {where} was replaced while this program was running, "
            "so this change was not saved. Restart to use the library that is there now.",
            where=self.where,
        )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _readable(path: Path) -> bool:
    """Whether SQLite reads ``path`` as a database (as a new process would try to)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as probe:
            probe.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as error:
        cause = str(error).lower()
        return not ("not a database" in cause or "malformed" in cause)
    return True


def _where(engine: Engine | None) -> str:
    if engine is None:
        return ""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"at {(url.database or '').removeprefix('file:').split('?')[0]}"
    return f"on {url.host or 'the server'}"  # never the password


def is_at_head(engine: Engine) -> bool:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def writer_of(engine: Engine) -> Engine:
    """The same engine for writers: they announce themselves so SQLite takes its write lock at
    BEGIN (see _sqlite_begin)."""
    return engine.execution_options(s2i_writer=True)


def upgrade_schema(writer: Engine, data_dir: Path | None = None, first_admin: str = "") -> None:
    """Bring the schema to head (migrations that fix media files get ``data_dir``; stories saved
    before owners existed go to ``first_admin``). A schema already there is only read (no write
    lock), so a read-only library opens."""
    if is_at_head(writer):
        return
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["data_dir"] = data_dir
    config.attributes["first_admin"] = first_admin
    # One transaction around the whole upgrade: a second process opening the library at the
    # same moment waits for it, then finds the schema at head.
    with writer.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK_ID})"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def drop_nul_characters(session: Session, _context: Any, _instances: Any) -> None:
    # PostgreSQL text cannot hold NUL (SQLite can); it is never meaningful in typed text, so it is
    # dropped on every database alike instead of failing the save on one of them.
    for row in (*session.new, *session.dirty):
        for column in row.__table__.columns:
            value = getattr(row, column.key, None)
            if isinstance(value, str) and "\x00" in value:
                setattr(row, column.key, value.replace("\x00", ""))


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own BEGIN handling would skip DDL and start write transactions too late;
    # SQLAlchemy's documented recipe is to switch it off and emit BEGIN in _sqlite_begin.
    dbapi_connection.isolation_level = None
    # SQLite's lower() only folds ASCII; searches must also match "Мальчик" with "мальчик".
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    _use_wal(cursor)
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch a new database file to WAL (it stays so). Switching needs the file to itself, and
    SQLite answers "database is locked" at once, without its busy wait, while another connection
    (a worker, another page) is opening the same new file: try again for a few seconds."""
    for attempt in range(50):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.1)


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between; taking the write lock up front waits instead.
    writer = connection.get_execution_options().get("s2i_writer", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value
