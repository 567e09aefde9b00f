"""Jobs on the task queue: workers draw, retry, cancel and resume; SQLite and a real Redis.

In-process tests run a ``WorkerPool`` (real Huey consumers) against the local NVIDIA stand-in;
the process tests run ``python -m s2i_core worker`` and kill one in the middle of a story.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from s2i_core.errors import QueueUnavailableError, SettingsError
from s2i_core.jobs import (
    Draw,
    JobBook,
    WriteScenes,
    cancel,
    progress,
    queue_pictures,
    queue_scenes,
    queue_transcription,
)
from s2i_core.jobs.book import WAITING_FOR_QUEUE
from s2i_core.jobs.queues import open_queues
from s2i_core.jobs.registry import run_job
from s2i_core.jobs.runtime import runtime_for
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.drafts import StoryOptions, start_story
from tests.cli.test_cli import FIXTURES, ROOT, cli_env, run_cli
from tests.llm_stub import LLMStub, StubStory
from tests.nvidia_stub import NvidiaStub
from tests.postgres import free_port
from tests.waiting import wait_for

SENTENCES = [
    "A red kite flew over the school.",
    "The children ran after it.",
    "It landed in a tall oak tree.",
    "A kind giraffe brought it back.",
    "Everyone cheered and clapped.",
    "Then they had lunch on the grass.",
]


KITE_STORY = StubStory(
    characters=[{"name": "Kit", "look": "a girl with a yellow raincoat"}],
    setting="a school playground",
    scene_template="Kit and the kite, picture {index}: {text}",
)


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request) -> str:
    return "" if request.param == "sqlite" else request.getfixturevalue("redis_url")


def story_settings(tmp_path: Path, stub: NvidiaStub, **changes) -> Settings:
    settings = Settings(
        data_dir=tmp_path,
        nvidia_api_key=stub.key,
        nvidia_base_url=stub.base_url,
        nvcf_status_url=stub.status_url,
        image_concurrency=2,
        work_lease_s=30.0,  # renewed every 10 s: a loaded machine never loses a live claim
    )
    return settings.with_changes(**changes)


def saved_story(library: Library, sentences: list[str] = SENTENCES) -> int:
    story = library.create_story("The kite", style="storybook", image_params={"seed": 7})
    drafts = [
        FrameDraft(index=i, start=i, end=i + 1, text=text, prompt=f"A picture: {text}")
        for i, text in enumerate(sentences)
    ]
    library.set_frames(story.id, drafts)
    return story.id


def prompts_drawn(stub: NvidiaStub) -> Counter[str]:
    return Counter(
        request.body["text_prompts"][0]["text"] for request in stub.generation_requests()
    )


def test_queued_pictures_are_drawn_by_a_worker_each_frame_once(tmp_path, queue_url, pool):
    with NvidiaStub(latency=0.2) as stub:
        settings = story_settings(tmp_path, stub, queue_url=queue_url)
        library = Library(settings)
        story_id = saved_story(library)
        job = queue_pictures(settings, library, library.get_story(story_id))
        assert progress(library, story_id).summary.startswith("Drawing: 0 of 6 pictures")

        pool(settings, queues=["pictures"])
        book = JobBook(library)
        wait_for(lambda: book.get(job.id).state == "done")

        story = library.get_story(story_id)
        assert story.status == "complete"
        assert all(f.status == "done" and f.image_path for f in story.frames)
        assert sorted(prompts_drawn(stub).values()) == [1] * len(SENTENCES)
        assert progress(library, story_id).summary == "6 of 6 pictures"


def test_pictures_queued_after_their_scenes_are_drawn_from_the_scenes_written(tmp_path, pool):
    """Scene writing is a job of its own; the drawing is queued only once it is done, so every
    picture is drawn from its written scene, and a scene job run again writes nothing."""
    with NvidiaStub() as stub, LLMStub(key=stub.key, story=KITE_STORY) as llm:
        settings = story_settings(tmp_path, stub, llm="auto", llm_base_url=llm.base_url)
        library = Library(settings)
        story_id = saved_story(library)
        queue_pictures(settings, library, library.get_story(story_id), scenes_first=True)
        assert progress(library, story_id).summary == "Writing a scene for every picture"

        pool(settings, queues=["pictures"])
        book = JobBook(library)
        wait_for(lambda: not book.active())
        writing, drawing = [j for j in book.of_story(story_id) if j.kind != "export"]
        assert (writing.kind, writing.state, drawing.kind, drawing.state) == (
            "scenes", "done", "draw", "done",
        )  # fmt: skip
        assert drawing.created_at >= writing.updated_at  # queued when the scenes were saved
        story = library.get_story(story_id)
        assert [f.scene for f in story.frames] == [
            f"Kit and the kite, picture {n}: {text}" for n, text in enumerate(SENTENCES)
        ]
        drawn = prompts_drawn(stub)
        assert sorted(drawn) == sorted(f.prompt for f in story.frames)
        assert all("a girl with a yellow raincoat" in prompt for prompt in drawn)

        again = queue_scenes(settings, library, story_id)
        wait_for(lambda: book.get(again.id).state == "done")
        assert len(llm.requests()) == 1 and sum(prompts_drawn(stub).values()) == len(SENTENCES)


def test_a_story_queued_in_one_go_is_heard_then_given_its_scenes_then_drawn(tmp_path, pool):
    """`story --enqueue` and "Finish this story" with the scene writer on: the pictures follow
    the scenes, which follow the transcription (the writer needs the whole story)."""
    with NvidiaStub() as stub, LLMStub(key=stub.key, story=KITE_STORY) as llm:
        settings = story_settings(
            tmp_path, stub, llm="auto", llm_base_url=llm.base_url, whisper_model="tiny.en"
        )
        library = Library(settings)
        options = StoryOptions(title="Heard")
        story_id = start_story(library, settings, FIXTURES / "en_story.wav", options).id
        queue_transcription(settings, library, story_id, then_draw=True)

        pool(settings)
        book = JobBook(library)

        def exported() -> bool:  # the exports are queued just after the drawing ends
            made = [j for j in book.of_story(story_id) if j.kind == "export"]
            return len(made) == 2 and not book.active()

        wait_for(exported, timeout=300)
        jobs = book.of_story(story_id)
        assert [(j.kind, j.state) for j in jobs if j.kind != "export"] == [
            ("transcribe", "done"), ("scenes", "done"), ("draw", "done"),
        ]  # fmt: skip
        # the finished story's PDF and narrated video are made once, for students to download
        assert sorted((j.kind, j.state) for j in jobs if j.kind == "export") == [
            ("export", "done"), ("export", "done"),
        ]  # fmt: skip
        story = library.get_story(story_id)
        assert story.status == "complete" and len(story.frames) >= 2
        assert len(llm.requests()) == 1
        assert all(f.scene.startswith("Kit and the kite") for f in story.frames)
        assert sorted(prompts_drawn(stub)) == sorted(f.prompt for f in story.frames)


def test_a_job_done_queues_what_follows_it_in_the_same_step(tmp_path):
    """A job that follows another is created as that one ends (the story never looks idle in
    between); a follower attached too late is refused, so the caller queues it instead."""
    library = Library(Settings(data_dir=tmp_path))
    story_id = saved_story(library)
    book = JobBook(library)
    writing = book.create(WriteScenes(story_id))
    assert book.chain(writing.id, Draw(story_id, frames=None))
    book.start(writing.id, 60)
    follow = book.finish(writing.id, "done")
    assert (follow.kind, follow.state, follow.spec) == ("draw", "queued", Draw(story_id))
    assert [j.kind for j in book.of_story(story_id, active_only=True)] == ["draw"]
    assert not book.chain(writing.id, Draw(story_id))

    stopped = book.create(WriteScenes(story_id, then=Draw(story_id)))
    cancel(library, story_id)
    assert book.finish(stopped.id, "done") is None and not book.of_story(story_id, True)


def test_a_job_delivered_twice_draws_each_frame_once(tmp_path, pool):
    """After a crash the queue may hold a job twice; one worker runs it, the other skips it."""
    with NvidiaStub(latency=0.3) as stub:
        settings = story_settings(tmp_path, stub)
        library = Library(settings)
        story_id = saved_story(library)
        job = queue_pictures(settings, library, library.get_story(story_id))
        open_queues(settings).enqueue(job)  # the same job once more

        workers = pool(settings, queues=["pictures"], threads=2)
        wait_for(lambda: JobBook(library).get(job.id).state == "done")
        wait_for(lambda: open_queues(settings).pending("pictures") == 0, what="the duplicate")
        workers.stop()  # returns once both deliveries have run to their end

        assert sorted(prompts_drawn(stub).values()) == [1] * len(SENTENCES)


def test_a_job_taken_by_a_worker_that_died_before_starting_it_is_queued_again(
    tmp_path, queue_url, pool, monkeypatch
):
    """The job's message left the queue with a worker that died at once: the job is on no queue,
    and the next worker's watch queues it again (after LOST_AFTER_SECONDS, not after 600 s)."""
    with NvidiaStub() as stub:
        settings = story_settings(tmp_path, stub, queue_url=queue_url)
        library = Library(settings)
        story_id = saved_story(library, SENTENCES[:3])
        job = queue_pictures(settings, library, library.get_story(story_id))
        queues = open_queues(settings)
        assert queues.hueys["pictures"].dequeue().args == (job.id,)  # the dead worker's take
        book = JobBook(library)
        assert job.id not in queues.waiting()
        assert book.take_lost(queues.waiting(), quiet_for=3600) == []  # too recent to be lost

        monkeypatch.setattr("s2i_core.jobs.worker.LOST_AFTER_SECONDS", 0.0)
        pool(settings, queues=["pictures"])
        wait_for(lambda: book.get(job.id).state == "done")
        assert sorted(prompts_drawn(stub).values()) == [1, 1, 1]
        assert library.get_story(story_id).status == "complete"


def test_a_redraw_that_runs_twice_draws_the_frame_once(tmp_path):
    with NvidiaStub() as stub:
        settings = story_settings(tmp_path, stub)
        library = Library(settings)
        story_id = saved_story(library, SENTENCES[:2])
        runtime = runtime_for(settings)
        first = queue_pictures(settings, library, library.get_story(story_id))
        run_job(runtime, first.id)
        frame = library.get_story(story_id).frames[1]

        redraw = queue_pictures(settings, library, library.get_story(story_id), [frame.id], True)
        run_job(runtime, redraw.id)
        # the worker died after saving the picture, before marking the job done: it runs again
        with library.engine.begin() as connection:
            connection.execute(
                text("UPDATE jobs SET state = 'queued' WHERE id = :id"), {"id": redraw.id}
            )
        assert run_job(runtime, redraw.id) == "done"

        redrawn = library.get_story(story_id).frames[1]
        assert redrawn.attempts == frame.attempts + 1
        assert redrawn.seed != frame.seed  # a new picture, not the same one again
        assert prompts_drawn(stub)[frame.prompt] == 2  # the first drawing and one redraw


def test_cancel_stops_the_drawing_and_keeps_what_is_finished(tmp_path, pool):
    with NvidiaStub(hold_after=2) as stub:  # the third picture is held while the teacher cancels
        settings = story_settings(tmp_path, stub, image_concurrency=1)
        library = Library(settings)
        story_id = saved_story(library)
        job = queue_pictures(settings, library, library.get_story(story_id))
        pool(settings, queues=["pictures"])

        stub.wait_until_held(1)  # two pictures are done and the third is being drawn
        assert progress(library, story_id).pictures_done == 2
        assert cancel(library, story_id) == 1
        assert cancel(library, story_id) == 0  # nothing left to cancel
        stub.release_held()  # the picture in flight comes back: it is kept
        wait_for(lambda: library.get_story(story_id).status != "generating", what="the stop")

        story = library.get_story(story_id)
        done = [f for f in story.frames if f.status == "done"]
        # the two before the cancel, the one in flight, and the one begun as it came back (before
        # the worker looked at the job again); none after that
        assert len(done) == 4
        assert story.status in ("incomplete", "interrupted")  # "Finish this story" draws the rest
        assert len(stub.generation_requests()) == len(done)
        state = progress(library, story_id)
        assert not state.running and state.last.state == "cancelled"
        assert state.summary.startswith("Cancelled:")
        assert JobBook(library).get(job.id).state == "cancelled"


def test_pictures_that_failed_for_a_passing_reason_are_retried_by_the_queue(tmp_path, pool):
    """The service is busy (429, try again in 10 minutes: past this picture's budget, so each
    frame fails at once); the queue tries the job again later, when the service is back."""
    with NvidiaStub(retry_after=600) as stub:
        settings = story_settings(tmp_path, stub, image_timeout=60.0)
        library = Library(settings)
        story_id = saved_story(library, SENTENCES[:3])
        stub.behaviour.always = "429"
        job = queue_pictures(settings, library, library.get_story(story_id))
        pool(settings, queues=["pictures"])

        book = JobBook(library)
        wait_for(lambda: book.get(job.id).attempts >= 1 and book.get(job.id).state == "queued")
        assert {f.status for f in library.get_story(story_id).frames} == {"failed"}
        stub.behaviour.always = None  # the service is back (the retry comes 5 s later)

        wait_for(lambda: book.get(job.id).state == "done")
        assert library.get_story(story_id).status == "complete"


def test_a_queue_that_cannot_be_reached_is_named_and_the_job_waits_for_it(tmp_path):
    """No Redis there at all: after a few seconds' patience the caller is told where the queue
    should be (never its password), and the job waits in the job book, saying why, for the
    workers' watch to queue it once the queue answers (tests/test_queue_outage.py)."""
    with NvidiaStub() as stub:
        url = f"redis://teacher:s3cret-pass@127.0.0.1:{free_port()}/0"
        settings = story_settings(tmp_path, stub, queue_url=url)
        library = Library(settings)
        story_id = saved_story(library)
        with pytest.raises(QueueUnavailableError) as caught:
            queue_pictures(settings, library, library.get_story(story_id))
        assert f"Redis at 127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}" in str(caught.value)
        assert "s3cret" not in str(caught.value)
        (job,) = JobBook(library).of_story(story_id)
        assert (job.state, job.detail) == ("queued", WAITING_FOR_QUEUE)
        assert "cannot be reached" in job.error and "s3cret" not in job.error
        assert progress(library, story_id).summary.startswith("Waiting for the job queue")


@pytest.mark.parametrize(
    ("setting", "value", "needle"),
    [
        ("queue_url", "amqp://localhost", "S2I_QUEUE_URL"),
        ("app_worker", "gpu", "S2I_APP_WORKER"),
    ],
)
def test_queue_settings_with_a_typo_are_named(tmp_path, setting, value, needle):
    settings = Settings(data_dir=tmp_path, **{setting: value})
    with pytest.raises(SettingsError, match=needle):
        open_queues(settings) if setting == "queue_url" else settings.app_worker_queues


# --- real processes ----------------------------------------------------------------------------
def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "s2i_core", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def show(story_id: int, env: dict[str, str]) -> dict:
    return json.loads(run_cli("show", story_id, "--json", env=env).stdout)


@pytest.mark.slow
def test_a_worker_killed_mid_story_and_another_one_finishes_it(tmp_path, queue_url):
    """`story --enqueue` returns at once; worker A is killed (SIGKILL) while it transcribes and
    draws; worker B, started later, finishes the story: every sentence, every picture, and
    no picture finished before the kill drawn again."""
    with NvidiaStub(latency=0.2, hold_after=1) as stub:  # A's second picture: held until the kill
        env = cli_env(
            tmp_path, stub,
            # 10 s leases, renewed every 3 s: B takes over soon, and never loses its own job
            # or claims on a loaded machine
            S2I_QUEUE_URL=queue_url, S2I_WORK_LEASE_SECONDS="10", S2I_IMAGE_CONCURRENCY="1",
            S2I_WHISPER_MODEL="tiny.en",
        )  # fmt: skip
        queued = run_cli("story", FIXTURES / "en_long.wav", "--title", "Long", "--enqueue", env=env)
        story_id = int(queued.stdout)
        assert show(story_id, env)["progress"]["running"]

        log = tmp_path / "workers.log"
        library = Library(Settings(data_dir=tmp_path))
        first = start_worker(env, log)
        try:
            wait_for(
                lambda: progress(library, story_id).pictures_done >= 1,
                timeout=240, what="worker A's first picture",
            )  # fmt: skip
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        stub.stop_holding()  # B's pictures are answered (A's stays held: A is gone)
        before = show(story_id, env)
        finished = {f["index"]: f["image"] for f in before["frames"] if f["status"] == "done"}
        assert before["status"] != "complete" and before["progress"]["running"]

        second = start_worker(env, log)
        try:
            wait_for(lambda: not progress(library, story_id).running, timeout=300, what="worker B")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
        assert second.returncode == 0, log.read_text()[-3000:]

        after = show(story_id, env)
        assert after["status"] == "complete", log.read_text()[-3000:]
        assert [f["index"] for f in after["frames"]] == list(range(len(after["frames"])))
        assert after["frames"][-1]["end"] > after["duration"] - 2  # all of it, not what A heard
        assert all(Path(f["image"]).is_file() for f in after["frames"])
        for index, image in finished.items():  # A's pictures are kept, not drawn again
            assert after["frames"][index]["image"] == image
        drawn = prompts_drawn(stub)
        kept = {after["frames"][i]["prompt"] for i in finished}
        assert all(drawn[prompt] == 1 for prompt in kept)
        assert sum(drawn.values()) <= len(after["frames"]) + 1  # + the one A had in flight
        assert "Traceback" not in log.read_text()


def test_story_enqueue_returns_at_once_without_loading_a_model(tmp_path):
    env = cli_env(tmp_path, S2I_WHISPER_MODEL="/nonexistent/model")  # loading it would fail
    result = run_cli("story", FIXTURES / "en_story.wav", "--title", "Later", "--enqueue", env=env)
    story_id = int(result.stdout)
    story = show(story_id, env)
    assert story["title"] == "Later" and story["frames"] == []
    assert story["progress"]["jobs"][0]["kind"] == "transcribe"
    assert story["progress"]["summary"].startswith("Transcribing")
    listed = run_cli("show", story_id, env=env).stdout
    assert "Progress: Transcribing" in listed

    cancelled = run_cli("cancel", story_id, env=env)
    assert "Cancelled 2 jobs" in cancelled.stderr
    assert not show(story_id, env)["progress"]["running"]


def test_story_enqueue_refuses_bad_audio_at_once(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not a recording")
    env = cli_env(tmp_path / "data")
    result = run_cli("story", bad, "--title", "Bad", "--enqueue", env=env, check=False)
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert json.loads(run_cli("list", "--json", env=env).stdout) == []
