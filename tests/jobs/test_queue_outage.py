"""Queue outages are waited out: a Redis restart (a server of the test's own, killed and started
again on its port, its queue emptied) never stops a story, and is said once in the log.

The workers are real Huey consumers in this process (``WorkerPool``); the pictures come from the
local NVIDIA stand-in and the scenes from the LLM stand-in, over real HTTP.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from s2i_core.errors import QueueUnavailableError
from s2i_core.jobs import JobBook, pictures_job, progress, queue_pictures, queue_transcription
from s2i_core.jobs.book import WAITING_FOR_QUEUE
from s2i_core.jobs.runtime import runtime_for
from s2i_core.speech import load_engine
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions, start_story
from tests.cli.test_cli import FIXTURES
from tests.jobs.test_jobs import (
    KITE_STORY,
    SENTENCES,
    prompts_drawn,
    saved_story,
    story_settings,
)
from tests.llm_stub import LLMStub
from tests.nvidia_stub import NvidiaStub
from tests.waiting import wait_for

OUTAGE_SECONDS = 10.0


class HeldAtTheEnd:
    """The real speech model, holding its last segment's end until the test lets it go: the
    test takes the queue away exactly as the transcription ends."""

    def __init__(self, engine, heard: threading.Event, go_on: threading.Event):
        self.engine, self.heard, self.go_on = engine, heard, go_on

    def transcribe(self, audio, language=None, task="transcribe"):
        segments, info = self.engine.transcribe(audio, language=language, task=task)
        return self._held(segments), info

    def _held(self, segments) -> Iterator:
        yield from segments
        self.heard.set()
        assert self.go_on.wait(120), "the test never let the transcription end"

    def __getattr__(self, name):
        return getattr(self.engine, name)


def outage_lines(records: list[logging.LogRecord]) -> tuple[list[str], list[str]]:
    messages = [r.getMessage() for r in records if r.name == "s2i_core.jobs"]
    away = [m for m in messages if m.startswith("The job queue") and "cannot be reached" in m]
    back = [m for m in messages if m.startswith("The job queue") and " is back after " in m]
    return away, back


@pytest.mark.slow
def test_redis_killed_as_transcription_ends_the_story_still_gets_its_scenes_and_pictures(
    tmp_path, redis_server, pool, monkeypatch, caplog
):
    """Redis is killed for 10 s at the end of transcription: the scene writer's job waits for it
    (it is not failed), and once Redis is back the story is written and drawn to the end. The
    outage is one line in the log, and one more when it ends: no traceback a poll."""
    caplog.set_level(logging.INFO)
    with NvidiaStub() as stub, LLMStub(key=stub.key, story=KITE_STORY) as llm:
        settings = story_settings(
            tmp_path, stub, llm="auto", llm_base_url=llm.base_url, whisper_model="tiny.en",
            queue_url=redis_server.url,
        )  # fmt: skip
        library = Library(settings)
        options = StoryOptions(title="Heard through an outage")
        story_id = start_story(library, settings, FIXTURES / "en_story.wav", options).id
        heard, go_on = threading.Event(), threading.Event()
        engine = load_engine(settings)
        monkeypatch.setattr(
            runtime_for(settings), "_engine", lambda: HeldAtTheEnd(engine, heard, go_on)
        )
        queue_transcription(settings, library, story_id, then_draw=True)
        pool(settings)
        book = JobBook(library)

        assert heard.wait(300), "the transcription did not reach its end"
        redis_server.kill()
        killed = time.monotonic()
        go_on.set()  # the transcription ends while Redis is away
        wait_for(lambda: book.of_story(story_id)[0].state == "done", what="the transcription")
        assert time.monotonic() - killed < OUTAGE_SECONDS, "the machine is too slow for this test"
        time.sleep(OUTAGE_SECONDS - (time.monotonic() - killed))
        _, scenes = book.of_story(story_id)[:2]
        assert (scenes.kind, scenes.state) == ("scenes", "queued")  # waiting, not failed
        assert progress(library, story_id).running
        redis_server.start()  # on the same port, empty

        wait_for(lambda: not book.active(), timeout=300, what="the story after the outage")
        assert [(j.kind, j.state) for j in book.of_story(story_id) if j.kind != "export"] == [
            ("transcribe", "done"), ("scenes", "done"), ("draw", "done"),
        ]  # fmt: skip
        story = library.get_story(story_id)
        assert story.status == "complete" and len(story.frames) >= 2
        assert all(f.scene.startswith("Kit and the kite") for f in story.frames)
        assert sorted(prompts_drawn(stub)) == sorted(f.prompt for f in story.frames)
        assert len(llm.requests()) == 1

    away, back = outage_lines(caplog.records)
    assert len(away) == 1 and "Redis at 127.0.0.1" in away[0], away
    assert len(back) == 1, back
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


def test_pictures_asked_for_while_redis_is_away_wait_and_are_drawn_once_it_is_back(
    tmp_path, redis_server, pool
):
    """A teacher presses Generate during the outage: after a few seconds' patience the page
    hears that the work is saved and starts by itself; the story says it waits for the queue,
    and the workers' watch queues it as soon as Redis answers again."""
    with NvidiaStub() as stub:
        settings = story_settings(tmp_path, stub, queue_url=redis_server.url, work_lease_s=10.0)
        library = Library(settings)
        story_id = saved_story(library, SENTENCES[:3])
        pool(settings, queues=["pictures"])
        redis_server.kill()
        with pytest.raises(QueueUnavailableError) as caught:
            queue_pictures(settings, library, library.get_story(story_id))
        assert "starts by itself as soon as the queue is back" in str(caught.value)
        (job,) = JobBook(library).of_story(story_id)
        assert (job.state, job.detail) == ("queued", WAITING_FOR_QUEUE)
        assert progress(library, story_id).summary.startswith("Waiting for the job queue")

        redis_server.start()
        wait_for(lambda: JobBook(library).get(job.id).state == "done", what="the pictures")
        assert library.get_story(story_id).status == "complete"
        assert sorted(prompts_drawn(stub).values()) == [1, 1, 1]


def test_a_story_an_earlier_version_stopped_for_a_queue_outage_goes_on(tmp_path, pool):
    """Before outages were waited out, a job whose queue could not be reached was failed (and
    its story stopped); the workers' watch queues such a job again, once."""
    with NvidiaStub() as stub:
        settings = story_settings(tmp_path, stub, work_lease_s=10.0)
        library = Library(settings)
        story_id = saved_story(library, SENTENCES[:2])
        book = JobBook(library)
        job = book.create(pictures_job(library.get_story(story_id)))
        book.finish(
            job.id,
            "failed",
            error="The job queue (Redis at 10.0.0.5:6379) cannot be reached: ConnectionError. "
            "Check that it is running, then try again.",
        )
        pool(settings, queues=["pictures"])
        wait_for(lambda: book.get(job.id).state == "done", what="the stopped story")
        assert library.get_story(story_id).status == "complete"
        assert book.take_unqueued() == []  # once
