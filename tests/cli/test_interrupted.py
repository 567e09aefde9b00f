"""Nothing half-done: `story` is killed (SIGKILL) at several points of a 56 s narration, and
`regenerate` finishes each story: the same frames as a run that was never interrupted, each with
its picture, nothing finished before the kill drawn again. Until then `list` says interrupted."""

from __future__ import annotations

import errno
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from s2i_core.errors import StorageError
from s2i_core.jobs import Transcribe
from s2i_core.jobs.inline import finish_here, run_here, story_here
from s2i_core.settings import Settings
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions, start_story
from tests.cli.test_cli import ROOT, cli_env, run_cli
from tests.conftest_nvidia import stub_client, stub_settings
from tests.nvidia_stub import NvidiaStub
from tests.waiting import wait_for

CLIP = ROOT / "bench" / "clips" / "story_60s.ogg"  # 56 s, 16 sentences
MODEL = {"S2I_WHISPER_MODEL": "tiny.en"}  # the interruption is under test, not the accuracy


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list[str]:
    """The sentences of a run that was never interrupted."""
    with NvidiaStub() as stub:
        env = cli_env(tmp_path_factory.mktemp("whole"), stub, **MODEL)
        story = json.loads(run_cli("story", CLIP, "--title", "Whole", "--json", env=env).stdout)
    assert story["status"] == "complete"
    return [frame["text"] for frame in story["frames"]]


def query(db: Path, sql: str) -> tuple:
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute(sql).fetchone()
    except sqlite3.OperationalError:
        return ()  # not created yet


# `python -m s2i_core` with Whisper paused once it has heard the first sentence, before the
# transcription job gets it; the file named by $S2I_TEST_PAUSED is created at that moment. A test
# that kills the run then knows where it is, however fast or slow the machine.
PAUSED_IN_TRANSCRIPTION = """
import os, pathlib, sys, threading
from s2i_core.cli import main
from s2i_core.jobs import inline

load_engine = inline.load_engine


class Paused:
    def __init__(self, engine):
        self.engine = engine

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def transcribe(self, *args, **kwargs):
        segments, info = self.engine.transcribe(*args, **kwargs)

        def first_sentence_held():
            first = next(iter(segments))  # Whisper has heard the first words
            pathlib.Path(os.environ["S2I_TEST_PAUSED"]).touch()
            threading.Event().wait()  # until the kill
            yield first

        return first_sentence_held(), info


inline.load_engine = lambda settings: Paused(load_engine(settings))
sys.exit(main(sys.argv[1:]))
"""


def kill_when(
    tmp_path: Path, stub: NvidiaStub, condition: str, paused: bool = False, **env_extra: str
) -> dict:
    """Start `story` (with ``paused``: Whisper held after the first sentence, see
    PAUSED_IN_TRANSCRIPTION), SIGKILL it the moment ``condition`` (SQL, true as 1) holds in its
    database (and, with ``paused``, once Whisper is held); return the frames as the kill left
    them."""
    env = cli_env(tmp_path, stub, **MODEL, **env_extra)
    mark = tmp_path / "paused"
    env["S2I_TEST_PAUSED"] = str(mark)
    program = ["-c", PAUSED_IN_TRANSCRIPTION] if paused else ["-m", "s2i_core"]
    proc = subprocess.Popen(
        [sys.executable, *program, "story", CLIP, "--title", "Killed"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    db = tmp_path / "s2i.db"

    def got_there() -> bool:
        assert proc.poll() is None, "finished before the kill: " + proc.stderr.read().decode()
        return (mark.exists() or not paused) and query(db, condition) == (1,)

    try:
        wait_for(got_there, "the storyboard to get that far", timeout=240, every=0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = connection.execute('SELECT id, status, attempts FROM frames ORDER BY "index"')
        return {"env": env, "frames": {i: (status, attempts) for i, status, attempts in rows}}


def finish_and_check(killed: dict, stub: NvidiaStub, reference: list[str]) -> dict:
    env = killed["env"]
    (listed,) = json.loads(run_cli("list", "--json", env=env).stdout)
    assert listed["status"] == "interrupted"  # never complete, never "generating" for ever
    requests_before = len(stub.generation_requests())
    story = json.loads(run_cli("regenerate", listed["id"], "--json", env=env).stdout)
    assert story["status"] == "complete"
    assert [frame["text"] for frame in story["frames"]] == reference
    assert all(frame["status"] == "done" and frame["image"] for frame in story["frames"])
    done_before = sum(status == "done" for status, _ in killed["frames"].values())
    assert len(stub.generation_requests()) - requests_before == len(reference) - done_before
    (listed,) = json.loads(run_cli("list", "--json", env=env).stdout)
    assert (listed["status"], listed["done"], listed["frames"]) == (
        "complete",
        len(reference),
        len(reference),
    )
    return story


def test_killed_in_transcription_before_the_first_sentence(tmp_path, reference):
    with NvidiaStub() as stub:
        # Whisper has heard the first sentence and is held there until the kill
        killed = kill_when(tmp_path, stub, "SELECT count(*) = 1 FROM stories", paused=True)
        assert killed["frames"] == {}  # the narration was saved, nothing else yet
        finish_and_check(killed, stub, reference)


def test_killed_after_four_sentences_had_their_pictures(tmp_path, reference):
    with NvidiaStub(hold_after=4) as stub:  # the fifth picture is held until the kill
        killed = kill_when(tmp_path, stub, "SELECT count(*) >= 4 FROM frames WHERE status = 'done'")
        stub.stop_holding()
        assert sum(status == "done" for status, _ in killed["frames"].values()) == 4
        finish_and_check(killed, stub, reference)


def test_killed_while_drawing_after_the_transcription(tmp_path, reference):
    # the last two pictures are held until the kill: the sentences are all there by then
    with NvidiaStub(hold_after=len(reference) - 2) as stub:
        killed = kill_when(
            tmp_path,
            stub,
            "SELECT NOT sentences_missing"
            " AND EXISTS (SELECT 1 FROM frames WHERE status = 'drawing') FROM stories",
            S2I_IMAGE_CONCURRENCY="2",
        )
        stub.stop_holding()
        statuses = [status for status, _ in killed["frames"].values()]
        assert len(statuses) == len(reference) and "drawing" in statuses
        finish_and_check(killed, stub, reference)


def test_a_full_disk_while_adding_frames_is_finished_later(
    tmp_path, speech_engine, engine_settings, monkeypatch
):
    """The disk fills up after three sentences: the story is interrupted, not a frameless draft,
    and finishing it later (with room again) makes the whole storyboard."""
    with NvidiaStub() as stub, Library(stub_settings(stub, data_dir=tmp_path)) as library:
        settings: Settings = stub_settings(stub, data_dir=tmp_path)
        client = stub_client(stub)
        real_add_frame = Library.add_frame

        def add_frame(self, story_id, draft, claim_s=None):
            if draft.index >= 3:
                raise StorageError("The disk is full.") from OSError(errno.ENOSPC, "No space")
            return real_add_frame(self, story_id, draft, claim_s)

        monkeypatch.setattr(Library, "add_frame", add_frame)
        clip = ROOT / "bench" / "clips" / "six_sentences.ogg"
        with pytest.raises(StorageError):
            for event in story_here(library, settings, client, clip, StoryOptions("Full")):
                story_id = event.story_id
        story = library.get_story(story_id)
        assert story.status == "interrupted" and len(story.frames) == 3
        monkeypatch.setattr(Library, "add_frame", real_add_frame)

        list(finish_here(library, settings, client, story_id, speech_engine))
        story = library.get_story(story_id)
        assert story.status == "complete" and len(story.frames) == 6
        assert not story.sentences_missing and "golden box" in story.transcript
        client.close()


def test_the_create_page_saves_the_narration_before_whisper_starts(
    tmp_path, speech_engine, engine_settings
):
    """The tab is closed while Whisper listens: the recording is kept, the story reads as
    interrupted, and finishing it makes the storyboard."""

    class ClosedTab(BaseException):
        pass

    class Stopped:
        def __getattr__(self, name):
            return getattr(speech_engine, name)

        def transcribe(self, *args, **kwargs):
            raise ClosedTab

    clip = ROOT / "bench" / "clips" / "six_sentences.ogg"
    with NvidiaStub() as stub, Library(stub_settings(stub, data_dir=tmp_path)) as library:
        settings = stub_settings(stub, data_dir=tmp_path)
        draft = start_story(library, settings, clip, StoryOptions("Tab"))  # as the page does
        with pytest.raises(ClosedTab):
            list(run_here(settings, library, [Transcribe(draft.id)], None, Stopped()))
        (story,) = library.list_stories()
        assert story.status == "interrupted"
        saved = library.get_story(story.id)
        assert library.path(saved.narration_path).stat().st_size > 0
        client = stub_client(stub)
        list(finish_here(library, settings, client, story.id, speech_engine))
        finished = library.get_story(story.id)
        assert finished.status == "complete" and len(finished.frames) == 6
        client.close()
