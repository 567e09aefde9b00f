"""A damaged queue file is set aside and a new one made, its jobs queued again from the job book;
a library database replaced under a running process refuses writes as a new process would."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from huey import SqliteHuey

from s2i_core.errors import StorageError
from s2i_core.jobs import Draw, Export, JobBook, WriteScenes, queue_pictures
from s2i_core.jobs.queue_file import damage
from s2i_core.jobs.queues import open_queues
from s2i_core.settings import Settings
from s2i_core.storage import Library
from tests.cli.test_cli import FIXTURES, cli_env, run_cli
from tests.jobs.test_jobs import saved_story, story_settings  # `pool`: tests/conftest.py
from tests.nvidia_stub import NvidiaStub
from tests.waiting import wait_for


def damaged_copy(path: Path) -> None:
    """Random bytes where the queue file was, as a disk fault or a bad copy leaves it."""
    path.write_bytes(os.urandom(16 * 1024))


def jobs_on_file(path: Path) -> set[int]:
    """The job ids on the queue file, read as another process would read it."""
    ids = set()
    for queue in ("speech", "pictures"):
        huey = SqliteHuey(f"s2i-{queue}", filename=str(path))
        ids |= {huey.serializer.deserialize(raw).args[0] for raw in huey.storage.enqueued_items()}
        huey.storage.close()
    return ids


def test_damage_is_told_by_the_header_and_by_the_pages(tmp_path):
    queue = tmp_path / "queue.db"
    assert damage(queue) == ""  # not there: a new one will be made
    queue.write_bytes(b"")
    assert damage(queue) == ""  # made a moment ago
    damaged_copy(queue)
    assert damage(queue) == "it is not a database"
    SqliteHuey("s2i-pictures", filename=str(tmp_path / "good.db")).storage.close()
    assert damage(tmp_path / "good.db") == ""


def test_a_damaged_queue_file_is_set_aside_and_its_jobs_queued_again(tmp_path, caplog):
    """Opening the queues finds the damage: the file is kept under a dated name, a new one is
    made, and every job the job book says is queued is put on it, with one warning line."""
    library = Library(Settings(data_dir=tmp_path))
    story_id = saved_story(library)
    book = JobBook(library)
    waiting = [book.create(Draw(story_id)), book.create(Export(story_id, "pdf"))]
    done = book.create(WriteScenes(story_id))
    book.finish(done.id, "done")
    damaged_copy(tmp_path / "queue.db")
    bytes_before = (tmp_path / "queue.db").read_bytes()

    with caplog.at_level(logging.WARNING, logger="s2i_core.jobs"):
        queues = open_queues(Settings(data_dir=tmp_path))

    [aside] = tmp_path.glob("queue.db.damaged-*")
    assert aside.read_bytes() == bytes_before
    assert queues.waiting() == {job.id for job in waiting}  # not the finished one
    assert jobs_on_file(tmp_path / "queue.db") == {job.id for job in waiting}
    [line] = [r.getMessage() for r in caplog.records if "queue" in r.getMessage()]
    assert "could not be read (it is not a database)" in line and aside.name in line


def test_a_queue_file_damaged_while_a_worker_runs_is_replaced_and_the_work_goes_on(
    tmp_path,
    pool,
):
    """A worker has the file open when it is damaged. Queuing a job sets the file aside and
    makes a new one; the worker follows the new file and draws the story."""
    with NvidiaStub() as stub:
        settings = story_settings(tmp_path, stub, work_lease_s=6.0)  # the watch looks every 2 s
        library = Library(settings)
        worker = pool(settings, queues=["pictures"])
        story_id = saved_story(library, ["A red kite.", "A tall tree."])
        damaged_copy(tmp_path / "queue.db")  # in place: the worker's connection reads it now
        job = queue_pictures(settings, library, library.get_story(story_id))
        assert job.state == "queued"  # put on the new file, not failed
        book = JobBook(library)
        wait_for(lambda: book.get(job.id).state == "done", timeout=120, what="the drawing")
    assert [aside.name for aside in tmp_path.glob("queue.db.damaged-*")]
    assert {f.status for f in library.get_story(story_id).frames} == {"done"}
    assert worker.consumers["pictures"].huey.storage.filename == str(tmp_path / "queue.db")


def test_story_enqueue_with_a_damaged_queue_file_queues_the_story_and_says_so(tmp_path):
    damaged_copy(tmp_path / "queue.db")
    result = run_cli(
        "story", FIXTURES / "en_story.wav", "--title", "Fox", "--enqueue", "--json",
        env=cli_env(tmp_path),
    )  # fmt: skip
    queued = json.loads(result.stdout)
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert "set aside as queue.db.damaged-" in warning and "queued jobs" in warning
    jobs = JobBook(Library(Settings(data_dir=tmp_path))).of_story(queued["id"])
    assert [(job.kind, job.state) for job in jobs] == [("transcribe", "queued"), ("draw", "queued")]
    assert jobs_on_file(tmp_path / "queue.db") == {job.id for job in jobs}
    listed = json.loads(run_cli("list", "--json", env=cli_env(tmp_path)).stdout)
    assert [s["status"] for s in listed] == ["queued"]  # not "interrupted"


def test_a_redis_queue_has_no_file_to_set_aside(tmp_path, redis_url):
    library = Library(Settings(data_dir=tmp_path, queue_url=redis_url))
    story_id = saved_story(library)
    settings = Settings(data_dir=tmp_path, queue_url=redis_url)
    job = queue_pictures(settings, library, library.get_story(story_id))
    assert job.id in open_queues(settings).waiting()
    assert not list(tmp_path.glob("queue.db*"))


# --- the library database ------------------------------------------------------------------------
def settle_journal(database: Path) -> None:
    """Empty the write-ahead journal into the file, as SQLite does from time to time. A file put
    in place of a database whose journal still holds pages is read with those pages (SQLite
    pairs the journal by name), so what a new process makes of it would depend on the moment."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture
def running(tmp_path) -> tuple[Library, int]:
    library = Library(Settings(data_dir=tmp_path / "data"))
    return library, library.create_story("The fox").id


def test_a_library_damaged_under_a_running_process_refuses_writes_as_a_new_one_would(running):
    """A damaged copy renamed over the database while the app runs (the app keeps the old,
    deleted file open): its writes are refused with the words a new process says."""
    library, story_id = running
    database = library.data_dir / "s2i.db"
    settle_journal(database)
    bad = database.with_name("copied.db")
    damaged_copy(bad)
    os.replace(bad, database)
    with pytest.raises(StorageError) as new_process:
        Library(Settings(data_dir=library.data_dir))
    with pytest.raises(StorageError) as refused:
        library.update_story(story_id, title="Renamed")
    assert str(refused.value) == str(new_process.value)
    assert "damaged" in str(refused.value)


def test_a_library_replaced_or_removed_under_a_running_process_refuses_writes(running, tmp_path):
    library, story_id = running
    database = library.data_dir / "s2i.db"
    with Library(Settings(data_dir=tmp_path / "backup")) as backup:
        backup.create_story("From the backup")
    shutil.copy(tmp_path / "backup" / "s2i.db", tmp_path / "restored.db")
    os.replace(tmp_path / "restored.db", database)
    with pytest.raises(StorageError, match="was replaced while this program was running"):
        library.update_story(story_id, title="Renamed")
    with pytest.raises(StorageError, match="Restart"):
        JobBook(library).create(Draw(story_id))
    database.unlink()
    with pytest.raises(StorageError, match="moved or deleted while this program was running"):
        library.create_story("Lost")
    assert library.get_story(story_id).title == "The fox"  # reading still works
