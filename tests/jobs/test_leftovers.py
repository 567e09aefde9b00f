"""A freshly queued story reads "queued", not "interrupted" (SQLite and PostgreSQL); workers remove
the temporary files a killed process left: when they start, and around an export job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s2i_core.exports.stored import FOLDER
from s2i_core.jobs import Export, JobBook, Transcribe, queue_export
from s2i_core.jobs.leftovers import remove_stale_files, tidied
from s2i_core.jobs.registry import run_job
from s2i_core.jobs.runtime import runtime_for
from s2i_core.settings import Settings
from s2i_core.storage import Library
from tests.cli.test_cli import ROOT, cli_env
from tests.jobs.test_jobs import saved_story
from tests.storage.test_storage import drop_all_tables
from tests.waiting import wait_for


@pytest.fixture(params=["sqlite", "postgresql"])
def stored(request: pytest.FixtureRequest, tmp_path: Path):
    """A library on SQLite, then on PostgreSQL (a throwaway server, tests/postgres.py)."""
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        drop_all_tables(url)
    with Library(Settings(data_dir=tmp_path / "data", database_url=url)) as library:
        yield library


# --- "queued", not "interrupted" ---------------------------------------------------------------
def test_a_story_whose_sentences_are_still_to_come_reads_queued_while_its_job_waits(stored):
    library = stored
    story = library.create_story("Heard later", sentences_missing=True)
    book = JobBook(library)
    job = book.create(Transcribe(story.id))
    assert library.get_story(story.id).status == "queued"
    assert [s.status for s in library.list_stories()] == ["queued"]

    book.start(job.id, lease=60)  # a worker took it and is about to claim the story
    assert library.get_story(story.id).status == "queued"
    book.finish(job.id, "failed", error="The worker could not read the narration.")
    assert library.get_story(story.id).status == "interrupted"  # now a teacher must finish it
    assert [s.status for s in library.list_stories()] == ["interrupted"]


def test_an_export_waiting_does_not_make_an_interrupted_story_look_queued(stored):
    library = stored
    story = library.create_story("Half made", sentences_missing=True)
    JobBook(library).create(Export(story.id, "pdf"))
    assert library.get_story(story.id).status == "interrupted"
    assert [s.status for s in library.list_stories()] == ["interrupted"]


# --- temporary files ---------------------------------------------------------------------------
def left_behind(folder: Path, name: str, age_s: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\x00" * 1024)
    if age_s:
        old = time.time() - age_s
        os.utime(path, (old, old))
    return path


def test_a_starting_worker_removes_what_nobody_is_writing_and_keeps_what_someone_is(tmp_path):
    settings = Settings(data_dir=tmp_path, image_timeout=60.0)
    library = Library(settings)
    idle, busy = saved_story(library), saved_story(library)
    exports = library.media_dir / str(idle) / FOLDER
    part = left_behind(exports, ".video-720p-0123.abcd.part.mp4.tmp")  # a killed video export
    live = left_behind(library.media_dir / str(busy) / FOLDER, ".storyboard-4567.efgh.tmp")
    old_picture = left_behind(library.media_dir / str(idle), ".frame-1-1.png.x1.tmp", age_s=600)
    new_picture = left_behind(library.media_dir / str(idle), ".frame-1-2.png.x2.tmp")
    book = JobBook(library)
    running = book.create(Export(busy, "pdf"))
    book.start(running.id, lease=300)  # a live worker is making this one right now
    kept = exports / "storyboard-89ab.pdf"
    kept.write_bytes(b"%PDF-")

    assert remove_stale_files(runtime_for(settings)) == 2
    assert not part.exists() and not old_picture.exists()
    assert live.exists() and new_picture.exists() and kept.exists()


def test_an_export_job_removes_the_leftovers_of_one_killed_before_it_and_its_own_if_it_fails(
    tmp_path,
):
    settings = Settings(data_dir=tmp_path)
    library = Library(settings)
    story = library.create_story("Nothing yet")  # no sentences: the export fails at once
    exports = library.media_dir / str(story.id) / FOLDER
    killed = left_behind(exports, ".video-720p-0123.abcd.part.mp4.tmp")
    job = queue_export(settings, library, story.id)
    runtime = runtime_for(settings)
    assert run_job(runtime, job.id) == "failed"
    assert "nothing to export" in JobBook(library).get(job.id).error
    assert not killed.exists()  # removed before the export began

    again = JobBook(library).create(Export(story.id, "pdf"))
    with pytest.raises(RuntimeError), tidied(runtime, JobBook(library).get(again.id)):
        left_behind(exports, ".storyboard-4567.efgh.tmp")  # a failure that skipped its own tidying
        raise RuntimeError("a bug in the middle of an export")
    assert not list(exports.glob("*.tmp"))


def test_a_worker_process_killed_during_a_video_export_leaves_nothing_once_one_starts(tmp_path):
    """The issue's case: `worker` killed while it encodes a video (its job still "running", its
    lease run out); the next worker to start removes the part file, with no app running."""
    library = Library(Settings(data_dir=tmp_path))
    story_id = saved_story(library)
    part = left_behind(library.media_dir / str(story_id) / FOLDER, ".video-720p-01.ab.part.mp4.tmp")
    book = JobBook(library)
    job = book.create(Export(story_id, "video", "720p"))
    book.start(job.id, lease=0.01)  # the killed worker's lease, over by the time one starts
    worker = subprocess.Popen(
        [sys.executable, "-m", "s2i_core", "worker", "--queue", "pictures"],
        cwd=ROOT,
        env=cli_env(tmp_path),
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: not part.exists(), timeout=120, what="the cleaning")
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=60)
