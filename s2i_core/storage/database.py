"""The database connection: engine set-up for SQLite and PostgreSQL, and the schema upgrade."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session

from .tables import MIGRATIONS_DIR

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_MIGRATION_LOCK_ID = 0x5321  # any constant: serialises schema upgrades of concurrent processes


def open_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def writer_of(engine: Engine) -> Engine:
    """The same engine for writers: they announce themselves so SQLite takes its write lock at
    BEGIN (see _sqlite_begin)."""
    return engine.execution_options(s2i_writer=True)


def upgrade_schema(writer: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
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
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between; taking the write lock up front waits instead.
    writer = connection.get_execution_options().get("s2i_writer", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value
