"""Each frame is drawn once however many workers run: frames are claimed with a lease in the
database, on SQLite and on PostgreSQL, and a killed worker's claim is taken again once its lease
has run out."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import JSON, bindparam, create_engine, text

from s2i_core.jobs.drawing import generate_story
from s2i_core.storage import Library, StoryHold, records
from tests.conftest_nvidia import stub_client, stub_settings
from tests.nvidia_stub import NvidiaStub
from tests.storage import test_storage
from tests.storage.test_migrations import alembic_config
from tests.storage.test_storage import drafts, picture

settings = test_storage.settings  # the same fixtures: SQLite and PostgreSQL
library = test_storage.library


def test_a_claimed_frame_is_skipped_until_released_or_saved(library: Library):
    story = library.create_story("Claims")
    frames = library.set_frames(story.id, drafts("a", "b", "c"))
    first = library.claim_frames(story.id, [frames[0].id, frames[1].id], lease_s=60)
    assert [f.status for f in first] == ["drawing", "drawing"]
    # a second worker asking for everything missing only gets the frame nobody holds
    assert [f.id for f in library.claim_frames(story.id, lease_s=60)] == [frames[2].id]
    assert library.claim_frames(story.id, lease_s=60) == []
    assert library.get_story(story.id).status != "complete"

    library.save_frame_result(frames[0].id, "done", image=picture())  # a result ends the claim
    library.release_frames([frames[1].id])  # given back without a result: waits again
    assert [f.status for f in library.get_story(story.id).frames] == ["done", "pending", "drawing"]
    assert [f.id for f in library.claim_frames(story.id, lease_s=60)] == [frames[1].id]


@pytest.fixture
def storage_clock(monkeypatch: pytest.MonkeyPatch) -> StorageClock:
    """The storage's clock, moved only by the test: leases run out when the test says so."""
    clock = StorageClock()
    monkeypatch.setattr(records, "clock", clock)
    return clock


class StorageClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def test_a_dead_workers_claim_is_taken_again_after_its_lease(library: Library, storage_clock):
    story = library.create_story("Crashed claim")
    (frame,) = library.set_frames(story.id, drafts("a"))
    library.hold_story(story.id, lease_s=60)
    assert library.claim_frames(story.id, lease_s=60)
    storage_clock.advance(59)
    assert library.claim_frames(story.id, lease_s=60) == []
    assert library.get_story(story.id).status == "generating"
    storage_clock.advance(2)  # the worker was killed: nobody renews the leases
    assert library.get_story(story.id).status == "interrupted"
    assert [s.status for s in library.list_stories()] == ["interrupted"]
    assert [f.id for f in library.claim_frames(story.id, lease_s=60)] == [frame.id]


def test_work_renews_its_leases_while_it_runs(library: Library, storage_clock):
    story = library.create_story("Long drawing")
    library.set_frames(story.id, drafts("a", "b"))
    with StoryHold(library, story.id, lease_s=60) as work:
        claimed = work.claim()
        for _ in range(4):  # four minutes, well past one lease
            storage_clock.advance(40)
            work.renew()  # the beat the background renewal runs every 20 s
            assert library.claim_frames(story.id, lease_s=60) == []
            assert library.get_story(story.id).status == "generating"
        library.save_frame_result(claimed[0].id, "done", image=picture())
        work.finished(claimed[0].id)
    # the unfinished claim is given back and the story says it stopped half-way
    assert [f.status for f in library.get_story(story.id).frames] == ["done", "pending"]
    assert work.status == "incomplete"


def test_work_that_stops_on_an_error_leaves_the_story_interrupted(library: Library):
    story = library.create_story("Disk full")
    library.set_frames(story.id, drafts("a", "b"))
    with pytest.raises(OSError), StoryHold(library, story.id) as work:
        work.claim()
        raise OSError(28, "No space left on device")
    assert library.get_story(story.id).status == "interrupted"
    assert library.claim_frames(story.id, lease_s=60)  # nothing stays claimed


def test_two_redraws_at_once_draw_each_frame_once(settings):
    """Two workers (each with its own connection pool, as two processes have) regenerate the
    same story at the same moment: six frames, six requests."""
    with NvidiaStub(latency=0.3) as stub, Library(settings) as setup:
        story = setup.create_story("Twice at once")
        setup.set_frames(story.id, drafts(*"abcdef"))
        drawn: list[list[int]] = []

        def regenerate() -> None:
            with Library(settings) as library:
                client = stub_client(stub, image_concurrency=2)
                drawn.append([f.id for f in generate_story(library, client, story.id)])
                client.close()

        workers = [threading.Thread(target=regenerate) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len(stub.generation_requests()) == 6
        assert sorted(drawn[0] + drawn[1]) == sorted(f.id for f in setup.get_story(story.id).frames)
        assert setup.get_story(story.id).status == "complete"


def test_a_claim_of_a_process_gone_from_this_machine_is_taken_at_once(library: Library):
    """`regenerate` right after a killed run: no waiting for the dead run's leases."""
    story = library.create_story("Killed run")
    (frame,) = library.set_frames(story.id, drafts("a"))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    library.hold_story(story.id, lease_s=600)
    library.claim_frames(story.id, lease_s=600)
    with library.engine.begin() as connection:  # as the killed process left them
        for table in ("stories", "frames"):
            connection.execute(
                text(f"UPDATE {table} SET worker = :worker"),
                {"worker": f"{socket.gethostname()}:{gone.pid}"},
            )
    assert library.get_story(story.id).status == "interrupted"
    assert [f.id for f in library.claim_frames(story.id, lease_s=60)] == [frame.id]


def test_a_story_saved_with_a_seed_the_service_refuses_is_still_drawn(tmp_path):
    """Before seeds were checked, `story --seed -5` saved -5 and every redraw failed for ever;
    opening such a library gives the story a seed the service takes (migration 0015)."""
    with NvidiaStub() as stub:
        settings = stub_settings(stub, data_dir=tmp_path)
        with Library(settings) as library:
            story = library.create_story("Old seed", transcript="x")
            library.set_frames(story.id, drafts("a", "b"))
        params = {"model": "stabilityai/stable-diffusion-xl", "steps": 5, "seed": -5}
        saved_by_an_older_version(settings, story.id, params)
        with Library(settings) as library:
            client = stub_client(stub)
            frames = list(generate_story(library, client, story.id))
            client.close()
        assert [f.status for f in frames] == ["done", "done"]
        assert all(0 < f.seed <= 4_294_967_295 for f in frames)


def saved_by_an_older_version(settings, story_id: int, image_params: dict) -> None:
    """The library taken back to before 0015, and the story's picture settings as it saved them."""
    command.downgrade(alembic_config(settings), "0014")
    engine = create_engine(settings.db_url)
    with engine.begin() as connection:
        statement = text("UPDATE stories SET image_params = :params WHERE id = :id")
        connection.execute(
            statement.bindparams(bindparam("params", type_=JSON)),
            {"params": image_params, "id": story_id},
        )
    engine.dispose()
