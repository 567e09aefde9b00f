"""The SQLite queue's file (``<data_dir>/queue.db``): set aside when damaged, followed when
another process replaced it.

The queue carries only job ids; the job book (the ``jobs`` table) says what each job is. A queue
file that cannot be read (random bytes, a disk fault, a half-copied backup) therefore loses
nothing the job book cannot rebuild: it is renamed with a timestamp (kept for whoever wants to
look), a new one is made, every queued job of the job book is put on the new one, and one warning
line says so. Processes that had the old file open (a running worker, the app) notice on their
next error or their workers' next watch, and open the file that is there now.

With Redis (``S2I_QUEUE_URL``) there is no file, and nothing here applies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings

if TYPE_CHECKING:
    from .book import JobBook
    from .queues import Queues

log = logging.getLogger("s2i_core.jobs")
COMPANIONS = ("-wal", "-shm", "-journal")
_opened: dict[Path, tuple[int, int] | None] = {}  # the file each process's queues have open
_lock = threading.Lock()


def queue_file(settings: Settings) -> Path | None:
    """The SQLite queue's file, or None when the queue is Redis."""
    return None if settings.queue_url else settings.data_dir.resolve() / "queue.db"


def check(settings: Settings) -> Path | None:
    """Before the queues are opened: set a damaged queue file aside (see set_aside_if_damaged)."""
    path = queue_file(settings)
    return None if path is None else set_aside_if_damaged(path)


def opened(queues: Queues, aside: Path | None) -> None:
    """After the queues were opened: note their file, and fill a new one from the job book."""
    remember(queues.settings)
    if aside is not None:
        requeue(queues)


def set_aside_if_damaged(path: Path, thorough: bool = True) -> Path | None:
    """Rename a queue file that is not a readable SQLite database (and its journal files) to
    ``queue.db.damaged-<time>``; returns the new name, or None when the file is fine or absent.
    Under a lock file, so that two processes never both move it (the second would move the new
    one the first just made). Not ``thorough``: the header only (the workers' regular look)."""
    with _locked(path):
        why = damage(path, thorough)
        if not why:
            return None
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        while aside.exists():
            aside = aside.with_name(aside.name + "-1")
        os.replace(path, aside)
        for end in COMPANIONS:
            with contextlib.suppress(FileNotFoundError):
                os.replace(path.with_name(path.name + end), aside.with_name(aside.name + end))
    log.warning(
        "The job queue file %s could not be read (%s): it was set aside as %s, a new one was made "
        "and the queued jobs were put on it again from the job book.",
        path,
        why,
        aside.name,
    )
    return aside


def damage(path: Path, thorough: bool = True) -> str:
    """What is wrong with the queue file, or "" when it is a readable database (or not there).
    ``thorough``: every page is checked (SQLite's quick_check), not only the first. The file is
    read through SQLite only: closing another descriptor of it would drop this process's locks."""
    if not path.exists():
        return ""
    check = "PRAGMA quick_check" if thorough else "PRAGMA schema_version"
    try:
        uri = f"{path.as_uri()}?mode=rw"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as connection:
            verdict = connection.execute(check).fetchone()[0]
    except sqlite3.OperationalError:
        return ""  # busy, locked, or gone a moment ago: not damaged
    except sqlite3.DatabaseError as error:
        return "it is not a database" if "not a database" in str(error) else str(error)
    return "" if not thorough or verdict == "ok" else f"its pages are damaged: {verdict}"


def remember(settings: Settings) -> None:
    """Note which file the queues of this process opened (open_queues calls it)."""
    path = queue_file(settings)
    if path is not None:
        _opened[path] = _identity(path)


def repair(queues: Queues, book: JobBook | None = None, thorough: bool = True) -> bool:
    """After a queue error, and from the workers' watch (not ``thorough``): when the queue file
    was damaged (it is set aside) or replaced by another process, open the queues on the file
    there now and put the job book's queued jobs on it. True when the queues were opened again
    (then try once more)."""
    path = queue_file(queues.settings)
    if path is None:
        return False
    with _lock:
        aside = set_aside_if_damaged(path, thorough)
        if aside is None and _identity(path) == _opened.get(path):
            return False
        for huey in queues.hueys.values():
            huey.storage.close()  # its connection still reads the file that was there
            huey.storage.initialize_schema()
        _opened[path] = _identity(path)
        requeue(queues, book)
        return True


def requeue(queues: Queues, book: JobBook | None = None) -> int:
    """Put every queued job of the job book on the queues (a new queue file holds none).
    Duplicates are harmless: a worker runs a job only while the book says it is queued."""
    from ..storage import Library
    from .book import JobBook
    from .registry import queue_of

    with contextlib.ExitStack() as opened_here:
        if book is None:
            book = JobBook(opened_here.enter_context(Library(queues.settings)))
        queued = [job for job in book.active() if job.state == "queued"]
    for job in queued:
        queues.tasks[queue_of(job.spec)](job.id)
    return len(queued)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the data folder itself (none where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: one process per machine there in practice
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # a file system without locks on folders: go on
            fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # and with it the lock
