"""The scene writer against a local stand-in for NVIDIA's chat-completions endpoint: what the
teacher gets for a good answer, a wrong shape, text that is not JSON, 429, 500 and a slow answer."""

from __future__ import annotations

import pytest

from s2i_core.settings import Settings
from s2i_core.story.bible import LLM, OFFLINE, TEACHER, Character, StoryBible
from s2i_core.story.scene_writer import SceneJob, SceneRequest, write_scenes
from tests.llm_stub import LLMStub, StubStory

SENTENCES = ("Había una vez una zorra llamada Rosa.", "Ella encontró un globo rojo.")
WHISPER_EN = ("Once upon a time there was a fox named Rosa.", "He found a red ball.")
STORY = StubStory(
    characters=[{"name": "Rosa", "look": "a small red fox with a green scarf"}],
    setting="a snowy forest",
    frames={
        SENTENCES[0]: (
            "Once upon a time there was a fox called Rosa.",
            "Rosa, a small fox, stands in a snowy forest.",
        ),
        SENTENCES[1]: ("She found a red balloon.", "Rosa finds a red balloon caught in a tree."),
    },
)
REQUEST = SceneRequest(
    title="Rosa y el globo",
    language="es",
    sentences=SENTENCES,
    english=WHISPER_EN,
    notes="Rosa is a small red fox with a green scarf.",
    style="crayon drawing",
)


@pytest.fixture
def llm():
    with LLMStub(story=STORY) as stub:
        yield stub


def settings_for(stub: LLMStub, **overrides) -> Settings:
    # llm_timeout: a hang guard, never a measurement (the slow-answer test sets its own)
    values = {"nvidia_api_key": stub.key, "llm_base_url": stub.base_url, "llm_timeout": 60.0}
    return Settings(**(values | overrides))


def test_a_good_answer_gives_the_bible_and_a_resolved_english_scene_per_sentence(llm):
    scenes = write_scenes(REQUEST, settings_for(llm))
    assert scenes.path == LLM and scenes.notice == ""
    assert scenes.bible.characters == (Character("Rosa", "a small red fox with a green scarf"),)
    assert scenes.bible.setting == "a snowy forest"
    assert [f.english for f in scenes.frames] == ["Once upon a time there was a fox called Rosa.",
                                                  "She found a red balloon."]  # fmt: skip
    assert scenes.frames[1].scene == "Rosa finds a red balloon caught in a tree."
    assert {f.source for f in scenes.frames} == {LLM}
    (request,) = llm.requests()
    assert request.status == 200 and request.authorized  # the stand-in enforces the contract
    told = llm.user_stories()[0]
    assert [s["text"] for s in told["sentences"]] == list(SENTENCES)
    assert told["teacher_notes"] == REQUEST.notes and told["language"] == "es"


def test_text_that_is_not_json_is_asked_for_once_more(llm):
    llm.fail_next("not_json")
    scenes = write_scenes(REQUEST, settings_for(llm))
    assert scenes.path == LLM
    retry = llm.requests()[1].body["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]


@pytest.mark.parametrize("fault", ["not_json", "wrong_shape"])
def test_a_second_unusable_answer_falls_back_to_the_offline_scenes(llm, fault):
    llm.fail_next(fault, fault)
    scenes = write_scenes(REQUEST, settings_for(llm))
    assert len(llm.requests()) == 2  # one retry, no more
    assert scenes.path == OFFLINE and "offline" in scenes.notice
    assert [f.english for f in scenes.frames] == list(WHISPER_EN)
    assert [f.scene for f in scenes.frames] == list(WHISPER_EN)
    assert scenes.bible.characters[0].name == "Rosa"  # looks from the teacher's notes


def test_json_in_a_code_fence_is_accepted(llm):
    llm.fail_next("fenced")
    assert write_scenes(REQUEST, settings_for(llm)).path == LLM


def test_an_invalid_frame_entry_falls_back_for_that_frame_only(llm):
    llm.fail_next("bad_frame")
    scenes = write_scenes(REQUEST, settings_for(llm))
    assert [f.source for f in scenes.frames] == [OFFLINE, LLM]
    assert scenes.frames[0].scene == WHISPER_EN[0]
    assert scenes.path == "mixed" and "sentence(s) 1" in scenes.notice


def test_entries_for_sentences_that_do_not_exist_are_ignored(llm):
    llm.fail_next("extra_frames")
    scenes = write_scenes(REQUEST, settings_for(llm))
    assert [f.index for f in scenes.frames] == [0, 1] and scenes.path == LLM


@pytest.mark.parametrize("status", ["429", "500"])
def test_busy_or_failing_service_is_retried_by_the_client(llm, status):
    llm.fail_next(status)
    assert write_scenes(REQUEST, settings_for(llm)).path == LLM
    assert [r.status for r in llm.requests()] == [int(status), 200]


@pytest.mark.parametrize(("status", "reason"), [("429", "rate limited"), ("500", "HTTP 500")])
def test_a_service_that_keeps_failing_gives_the_offline_scenes_and_says_why(status, reason):
    with LLMStub(story=STORY, always=status) as llm:
        scenes = write_scenes(REQUEST, settings_for(llm))
        assert len(llm.requests()) == 3  # the first try and the client's two retries
    assert scenes.path == OFFLINE and reason in scenes.notice
    assert llm.key not in scenes.notice


def test_a_slow_answer_does_not_hold_the_pictures_back(llm):
    llm.slow_seconds = 30
    llm.fail_next("slow")
    scenes = write_scenes(REQUEST, settings_for(llm, llm_timeout=0.5))
    assert scenes.path == OFFLINE
    assert "did not answer within 0.5 s" in scenes.notice


def test_a_long_story_goes_in_parts_that_keep_the_characters(llm):
    sentences = tuple(f"Rosa salta {n} veces." for n in range(30))
    request = SceneRequest("Saltos", "es", sentences, notes="Rosa is a fox.")
    scenes = write_scenes(request, settings_for(llm))
    told = llm.user_stories()
    assert [len(t["sentences"]) for t in told] == [12, 12, 6]
    assert "known_characters" not in told[0]
    assert all(t["known_characters"] == STORY.characters for t in told[1:])
    assert [f.index for f in scenes.frames] == list(range(30)) and scenes.path == LLM


def test_one_edited_sentence_is_rewritten_with_the_teachers_bible(llm):
    teacher = StoryBible((Character("Rosa", "a tall blue fox in a raincoat"),), "a beach", TEACHER)
    request = SceneRequest("T", "es", SENTENCES, WHISPER_EN, bible=teacher, only=(1,))
    scenes = write_scenes(request, settings_for(llm))
    told = llm.user_stories()[0]
    assert [s["index"] for s in told["sentences"]] == [1]
    assert told["other_sentences_for_context"] == [{"index": 0, "text": SENTENCES[0]}]
    assert told["known_characters"] == [{"name": "Rosa", "look": "a tall blue fox in a raincoat"}]
    assert [f.index for f in scenes.frames] == [1]
    assert scenes.bible.characters == teacher.characters and scenes.bible.setting == "a beach"


@pytest.mark.parametrize(
    ("settings", "reason"),
    [(Settings(), "No NVIDIA API key"), (Settings(nvidia_api_key="nvapi-x", llm="off"), "off")],
)
def test_without_a_key_or_with_the_writer_off_no_request_is_made(llm, settings, reason):
    scenes = write_scenes(REQUEST, settings.with_changes(llm_base_url=llm.base_url))
    assert llm.requests() == []
    assert scenes.path == OFFLINE and reason in scenes.notice


def test_the_job_runs_in_the_background_from_the_moment_it_is_made(llm):
    llm.hold()  # the answer waits until the test has looked
    job = SceneJob(REQUEST, settings_for(llm))
    assert not job.done()  # the caller goes on (the teacher reads the sentences)
    llm.release()
    assert job.result().path == LLM and job.done()
