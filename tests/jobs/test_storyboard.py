"""The whole engine, narration to saved storyboard, against the local NVIDIA stand-in."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from s2i_core.errors import UnknownModelError
from s2i_core.exports import export_pdf
from s2i_core.exports.timeline import shown_picture
from s2i_core.jobs.drawing import generate_story
from s2i_core.jobs.inline import story_here
from s2i_core.pictures import ImageParams
from s2i_core.pictures.nvidia import NvidiaBackend
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions, save_draft
from s2i_core.story.narration import transcribe_narration
from s2i_core.story.picture_settings import refit_story_params
from tests.conftest_nvidia import stub_client, stub_settings
from tests.fake_clock import FakeClock
from tests.nvidia_stub import NvidiaStub


@pytest.fixture(scope="module")
def narration(speech_engine, fixtures_dir, engine_settings):
    return transcribe_narration(fixtures_dir / "en_story.wav", engine_settings, speech_engine)


@pytest.fixture
def stub():
    with NvidiaStub() as stub:
        yield stub


def make_library(tmp_path, stub) -> tuple[Library, object]:
    settings = stub_settings(stub, data_dir=tmp_path)
    return Library(settings), settings


def test_a_story_becomes_one_saved_picture_per_sentence(tmp_path, stub, narration):
    library, settings = make_library(tmp_path, stub)
    story = save_draft(library, settings, StoryOptions("The fox", class_name="2B"), narration)
    assert [f.status for f in story.frames] == ["pending"] * len(narration.sentences)
    assert library.path(story.narration_path).read_bytes() == narration.replay_bytes

    frames = list(generate_story(library, stub_client(stub), story.id))

    assert sorted(f.index for f in frames) == list(range(len(narration.sentences)))
    story = library.get_story(story.id)
    assert story.status == "complete"
    for frame, sentence in zip(story.frames, narration.sentences, strict=True):
        assert frame.status == "done" and frame.text == sentence.text
        with Image.open(library.path(frame.image_path)) as picture:
            assert picture.size[0] > 0
        assert library.path(frame.thumb_path).stat().st_size > 0
    # one story seed, sent with every frame, for a consistent look
    seeds = {r.body["seed"] for r in stub.generation_requests()}
    assert seeds == {story.seed} and story.seed > 0
    # every request carries the classroom-safe negative prompt
    negatives = [
        [p["text"] for p in r.body["text_prompts"] if p["weight"] < 0]
        for r in stub.generation_requests()
    ]
    assert all("violence" in " ".join(n) for n in negatives)


def test_frames_are_drawn_at_the_same_time_not_one_after_another(tmp_path, narration):
    """The stub holds each picture until every frame's request has arrived: drawn one after
    another, the first would wait alone and the peak would stay at one."""
    with NvidiaStub() as stub:
        library, settings = make_library(tmp_path, stub)
        story = save_draft(library, settings, StoryOptions("Parallel"), narration)
        n = len(story.frames)
        stub.behaviour.hold_until_in_flight = n
        client = stub_client(stub, image_concurrency=n)
        frames = list(generate_story(library, client, story.id))
    assert n >= 3
    assert {f.status for f in frames} == {"done"}
    assert stub.peak_in_flight == n


def test_without_a_key_frames_get_a_card_and_can_be_drawn_later(tmp_path, stub, narration):
    library, settings = make_library(tmp_path, stub)
    story = save_draft(library, settings, StoryOptions("Later"), narration)

    frames = list(generate_story(library, None, story.id))

    assert {f.status for f in frames} == {"no_backend"}
    assert all(library.path(f.image_path).is_file() for f in frames)
    assert "NVIDIA_API_KEY" in frames[0].error
    assert library.get_story(story.id).status == "incomplete"
    assert stub.generation_requests() == []

    list(generate_story(library, stub_client(stub), story.id))
    story = library.get_story(story.id)
    assert {f.status for f in story.frames} == {"done"} and story.status == "complete"


def test_filtered_and_failed_frames_are_kept_apart_and_regenerated(tmp_path, stub, narration):
    library, settings = make_library(tmp_path, stub)
    story = save_draft(library, settings, StoryOptions("Mixed"), narration)
    first, second = story.frames[0], story.frames[1]
    library.update_frame_text(first.id, prompt=first.prompt + " FILTERME")
    library.update_frame_text(second.id, prompt="a brave knight with a knife")
    stub.behaviour.always = None

    list(generate_story(library, stub_client(stub), story.id))

    story = library.get_story(story.id)
    by_id = {f.id: f for f in story.frames}
    assert by_id[first.id].status == "filtered"  # the service's safety filter
    assert by_id[second.id].status == "filtered" and "word list" in by_id[second.id].error
    assert story.status == "incomplete"
    sent_prompts = " ".join(str(r.body) for r in stub.generation_requests())
    assert "knife" not in sent_prompts  # our word list stops it before anything is sent

    library.update_frame_text(first.id, prompt=first.prompt)
    library.update_frame_text(second.id, prompt="a brave knight with a shield")
    list(generate_story(library, stub_client(stub), story.id))
    assert library.get_story(story.id).status == "complete"


def test_a_service_outage_marks_frames_failed_with_a_reason(tmp_path, stub, narration):
    library, settings = make_library(tmp_path, stub)
    story = save_draft(library, settings, StoryOptions("Outage"), narration)
    stub.behaviour.always = "503"

    frames = list(generate_story(library, stub_client(stub, image_timeout=0.5), story.id))

    assert {f.status for f in frames} == {"failed"}
    assert all(f.error and "try" in f.error.lower() for f in frames)
    stub.behaviour.always = None
    list(generate_story(library, stub_client(stub), story.id))
    assert library.get_story(story.id).status == "complete"


def test_regenerating_one_frame_uses_a_new_seed_and_touches_no_other(tmp_path, stub, narration):
    library, settings = make_library(tmp_path, stub)
    story = save_draft(library, settings, StoryOptions("Seeds"), narration)
    list(generate_story(library, stub_client(stub), story.id))
    before = library.get_story(story.id)
    target = before.frames[1]
    stub.reset()

    list(generate_story(library, stub_client(stub), story.id, [target.id], reseed=True))

    after = library.get_story(story.id)
    assert len(stub.generation_requests()) == 1
    assert stub.generation_requests()[0].body["seed"] != story.seed
    assert after.frames[1].attempts == target.attempts + 1
    assert [f.attempts for i, f in enumerate(after.frames) if i != 1] == [
        f.attempts for i, f in enumerate(before.frames) if i != 1
    ]


def test_an_unknown_image_model_is_refused_before_anything_is_saved(tmp_path, stub, narration):
    library, settings = make_library(tmp_path, stub)
    options = StoryOptions("Nope", image_params=ImageParams(model="acme/imaginary-model"))
    with pytest.raises(UnknownModelError, match="acme/imaginary-model"):
        save_draft(library, settings, options, narration)
    assert library.count_stories() == 0


def test_streamed_story_draws_pictures_while_the_narration_is_still_transcribed(
    tmp_path, speech_engine
):
    """A minute of narration: Whisper works through it in 30 s windows, and the first window's
    pictures are requested, drawn and saved before the second window is transcribed."""
    clip = Path(__file__).resolve().parents[2] / "bench" / "clips" / "story_60s.ogg"
    with NvidiaStub(latency=0.05) as stub:
        library, settings = make_library(tmp_path, stub)
        client = stub_client(stub)
        events = list(
            story_here(library, settings, client, clip, StoryOptions("Mia"), speech_engine)
        )
    kinds = [e.kind for e in events]
    first_done, transcribed = kinds.index("frame_done"), kinds.index("transcribed")
    assert first_done < transcribed  # a picture landed before transcription ended

    story = library.get_story(events[0].story_id)
    added = [e.frame.index for e in events if e.kind == "frame_added"]
    assert added == list(range(len(story.frames)))  # frames numbered in the order spoken
    starts = [f.start for f in story.frames]
    assert starts == sorted(starts) and story.frames[-1].end <= story.duration + 0.05
    position = {(e.kind, e.frame.id): i for i, e in enumerate(events) if e.frame}
    for frame in story.frames:  # each frame was announced before its picture arrived
        assert position[("frame_added", frame.id)] < position[("frame_done", frame.id)]
        assert frame.status == "done" and library.path(frame.image_path).is_file()
    done = [e.frame.id for e in events if e.kind == "frame_done"]
    assert sorted(done) == sorted(f.id for f in story.frames)
    assert story.status == "complete" and "Mia" in story.transcript


def test_a_redo_while_offline_keeps_the_picture_in_the_grid_replay_and_pdf(
    tmp_path, stub, narration
):
    """The classroom incident: a redo during an outage used to throw the good picture away."""
    library, settings = make_library(tmp_path, stub)
    story = save_draft(library, settings, StoryOptions("Kept"), narration)
    list(generate_story(library, stub_client(stub), story.id))
    drawn = library.get_story(story.id)
    first = drawn.frames[0]

    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    clock = FakeClock()
    offline = NvidiaBackend(
        settings.with_changes(nvidia_base_url=f"http://127.0.0.1:{closed}/v1/genai"),
        backoff_initial=0.05,
        clock=clock,
        sleep=clock.sleep,
    )
    [redo] = list(generate_story(library, offline, story.id, [first.id], reseed=True))
    assert clock.slept == []  # the teacher hears at once: no retries for 2 minutes
    assert (redo.status, redo.image_path, redo.seed) == ("done", first.image_path, first.seed)
    assert "picture from before is kept" in redo.error and "offline" in redo.error

    kept = library.get_story(story.id)
    assert kept.status == "complete"
    assert [f.image_path for f in kept.frames] == [f.image_path for f in drawn.frames]
    assert all(shown_picture(frame, library) for frame in kept.frames)  # replay and video
    pdf = PdfReader(io.BytesIO(export_pdf(kept, library)))
    assert sum(len(page.images) for page in pdf.pages) == len(kept.frames)


def test_a_story_saved_with_a_retired_model_is_redrawn_with_the_default(tmp_path, stub, narration):
    library, settings = make_library(tmp_path, stub)
    story = save_draft(library, settings, StoryOptions("Turbo days"), narration)
    turbo = {"model": "stabilityai/sdxl-turbo", "steps": 2, "cfg_scale": 0.0, "width": 512,
             "height": 512, "sampler": "K_EULER_ANCESTRAL", "seed": 5}  # fmt: skip
    library.update_story(story.id, image_model=turbo["model"], image_params=turbo)

    notes = refit_story_params(library, story.id, stub_client(stub).models)[2]
    assert notes == [
        "SDXL Turbo is no longer offered, so this story's pictures are drawn with "
        "Stable Diffusion XL."
    ]
    frames = list(generate_story(library, stub_client(stub), story.id))
    assert {f.status for f in frames} == {"done"}
    sent = stub.generation_requests()[0]
    assert sent.model == "stabilityai/stable-diffusion-xl" and sent.status == 200
    assert (sent.body["steps"], sent.body["width"], sent.body["seed"]) == (25, 1024, 5)
    assert library.get_story(story.id).image_model == "stabilityai/stable-diffusion-xl"
