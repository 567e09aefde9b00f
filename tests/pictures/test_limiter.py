"""One request rate per API key across processes: two processes (and, on PostgreSQL, what two
replicas do) share one window, counted in the database."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys

import pytest
from sqlalchemy import inspect

from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library, SharedRateLimiter
from tests.cli.test_cli import ROOT, cli_env
from tests.nvidia_stub import NvidiaStub
from tests.storage import test_storage

settings = test_storage.settings  # SQLite and PostgreSQL
PER_WINDOW, WINDOW_S, EACH = 4, 1.5, 6
SDXL = {"model": "stabilityai/stable-diffusion-xl", "steps": 5, "seed": 7}


def take_slots(settings: Settings, key: str, start, results) -> None:
    with Library(settings) as library:
        limiter = library.request_limiter(key, PER_WINDOW, WINDOW_S)
        start.wait(timeout=120)  # both processes start together, however slow their start-up
        taken = []
        for _ in range(EACH):
            assert limiter.acquire()
            taken.append(limiter.last_taken_at)
        results.put(taken)


def most_in_any_window(stamps: list[float], window_s: float) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps if s <= t < s + window_s) for s in stamps)


def test_two_processes_share_one_rate_per_key(settings: Settings):
    with Library(settings):
        pass  # the schema, once, before both start
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Barrier(2)
    workers = [
        context.Process(target=take_slots, args=(settings, "nvapi-shared", start, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    stamps = [stamp for _ in workers for stamp in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert len(stamps) == 2 * EACH
    # never more, across both (how many fall in one window depends on how fast the machine is)
    assert most_in_any_window(stamps, WINDOW_S) <= PER_WINDOW


def test_keys_have_their_own_rate_and_a_deadline_is_kept(settings: Settings):
    with Library(settings) as library:
        first = library.request_limiter("nvapi-one", 2, 30.0)
        other = library.request_limiter("nvapi-two", 2, 30.0)
        assert first.acquire() and first.acquire()
        slept: list[float] = []
        first.sleep = slept.append
        assert not first.acquire(deadline=first.clock() + 1.0)  # full for 30 s: no waiting
        assert slept == []
        assert 20.0 < first.wait_time() <= 31.0  # a window and its arrival margin, or a bit less
        assert other.acquire() and other.wait_time() == 0.0
        # the same key through another object (another process) sees the same window
        assert library.request_limiter("nvapi-one", 2, 30.0).wait_time() > 20.0


def test_the_key_is_not_stored(settings: Settings):
    with Library(settings) as library:
        assert library.request_limiter("nvapi-secret-key", 3).acquire()
        with library.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT key_id FROM request_slots").all()
        assert rows and all("nvapi-secret-key" not in row[0] for row in rows)
        assert "request_slots" in inspect(library.engine).get_table_names()


def test_a_limit_needs_a_positive_rate(settings: Settings):
    with Library(settings) as library, pytest.raises(ValueError):
        SharedRateLimiter(library.engine, "nvapi-x", 0)


def regenerate(story_id: int, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "s2i_core", "regenerate", str(story_id), "--json"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_cli_runs_on_one_key_share_s2i_image_rpm(tmp_path):
    """Two `regenerate` runs at once, 4 frames each, S2I_IMAGE_RPM=4: four requests reach the
    service in that minute, not eight; the frames left over say why and wait for a later run."""
    with Library(Settings(data_dir=tmp_path)) as library:
        ids = []
        for title in ("First", "Second"):
            story = library.create_story(title, transcript="x", image_params=SDXL)
            drafts = [FrameDraft(i, i, i + 1.0, f"A fox {i}.", prompt=f"fox {i}") for i in range(4)]
            library.set_frames(story.id, drafts)
            ids.append(story.id)
    with NvidiaStub() as stub:
        # a picture may take 30 s (a hang guard), still far less than the minute a slot is held
        env = cli_env(tmp_path, stub, S2I_IMAGE_RPM="4", S2I_IMAGE_TIMEOUT="30")
        runs = [regenerate(story_id, env) for story_id in ids]
        stories = [json.loads(run.communicate(timeout=240)[0]) for run in runs]
        assert len(stub.generation_requests()) == 4 and stub.max_in_window(60) == 4
    frames = [frame for story in stories for frame in story["frames"]]
    assert sum(frame["status"] == "done" for frame in frames) == 4
    waiting = [frame["error"] for frame in frames if frame["status"] != "done"]
    assert len(waiting) == 4 and all("already asked for 4 pictures" in e for e in waiting)
