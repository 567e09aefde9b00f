"""Temporary files a killed process left in the media folder, removed by the workers.

Every file is written beside its place and renamed into it, so a process killed half-way leaves
a ``*.tmp`` file (a video export leaves ``.video-720p-….part.mp4.tmp``, as large as the video got)
and nothing else. The app removed them when it started; a standalone worker never did, so one
killed during an export left its part file for good. Now a worker removes them when it starts,
and an export job before it begins and after it fails.

A temporary file may also be one another process is writing right now. In a story's exports
folder that is only ever an export job of that story, which the job book knows about: the files
are left alone while one runs on a live worker. Elsewhere (pictures, recordings: written in a
moment) a file is left alone until it is ``stale_after`` seconds old.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..exports.stored import FOLDER

if TYPE_CHECKING:
    from .book import JobBook, JobRecord
    from .runtime import Runtime

log = logging.getLogger("s2i_core.jobs")


def remove_stale_files(runtime: Runtime) -> int:
    """At a worker's start: every export's leftovers nobody is writing, and any other temporary
    file older than two picture timeouts (the margin the app uses). Returns how many."""
    library, book = runtime.library, runtime.book
    removed = sum(
        remove_stale_exports(book, folder) for folder in library.media_dir.glob(f"*/{FOLDER}")
    )
    others = (p for p in library.media_dir.rglob("*.tmp") if p.parent.name != FOLDER)
    removed += _remove(others, 2 * runtime.settings.image_timeout)
    if removed:
        log.info("removed %s temporary files left by a stopped process", removed)
    return removed


@contextlib.contextmanager
def tidied(runtime: Runtime, job: JobRecord) -> Iterator[None]:
    """Around an export job: the leftovers of the story's earlier exports are removed before it
    begins (one of them may have been this job, on a worker that was killed) and if it fails."""
    folder = runtime.library.media_dir / str(int(job.story_id)) / FOLDER
    remove_stale_exports(runtime.book, folder, this_job=job.id)
    try:
        yield
    except BaseException:
        remove_stale_exports(runtime.book, folder, this_job=job.id)
        raise


def remove_stale_exports(book: JobBook, folder: Path, this_job: int | None = None) -> int:
    """The temporary files of a story's exports folder, unless another export of that story is
    running on a live worker (it may be writing one of them)."""
    if not folder.is_dir() or not folder.parent.name.isdigit():
        return 0
    moment = datetime.now(UTC)
    others = [
        job
        for job in book.of_story(int(folder.parent.name), active_only=True)
        if job.kind == "export" and job.id != this_job and job.state == "running"
        if job.lease_until is not None and job.lease_until > moment
    ]
    return 0 if others else _remove(folder.glob("*.tmp"))


def _remove(paths: Iterator[Path], older_than: float = 0.0) -> int:
    cutoff, removed = time.time() - older_than, 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
    return removed
