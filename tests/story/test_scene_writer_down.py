"""With the scene writer (the LLM) down, pictures wait for it instead of being drawn from invented
English: its job waits on the queue and asks again, the page says so, and a sentence whose
English line failed the checks is never sent to the picture service or printed.

Stories are told in Hindi: Whisper's English for sentence 2 was left out (english_lines.py), so
it has no English line until the scene writer or the teacher gives it one.
"""

from __future__ import annotations

import json
import types

import pytest
from huey.exceptions import RetryTask

from s2i_core.errors import SceneWriterUnavailableError
from s2i_core.exports.pdf import export_pdf
from s2i_core.jobs import Draw, JobBook, WriteScenes, progress, queue_pictures
from s2i_core.jobs.handlers import WRITER_TRIES
from s2i_core.jobs.queues import open_queues
from s2i_core.jobs.registry import run_job
from s2i_core.jobs.runtime import Runtime
from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.speech.english_lines import check_line, known_phrases
from s2i_core.storage import Library
from s2i_core.story.bible import LLM, OFFLINE, TEACHER
from s2i_core.story.drafts import frame_drafts
from s2i_core.story.sentences import Sentence
from tests.app.test_app import STORY as STORY_PAGE
from tests.app.test_app import button, open_page, texts
from tests.cli.test_cli import FIXTURES, cli_env, run_cli
from tests.conftest_nvidia import stub_settings
from tests.exports.test_scripts import pdftotext
from tests.llm_stub import LLMStub, StubStory
from tests.nvidia_stub import NvidiaStub
from tests.postgres import free_port

HINDI = [
    ("एक छोटा लड़का बाज़ार गया।", "A little boy went to the market."),
    ("उसने लाल सेब खरीदे।", ""),  # Whisper's "Thanks for watching!" was left out
    ("फिर वह घर वापस आया।", "Then he came back home."),
]
STORY = StubStory(
    characters=[{"name": "Ravi", "look": "a small boy in a blue kurta"}],
    setting="a busy village market",
    english_template="Scene writer's line {index}",
    scene_template="Ravi at the market, picture {index}",
)


@pytest.fixture
def services():
    with NvidiaStub() as pictures, LLMStub(key=pictures.key, story=STORY, always="500") as llm:
        yield pictures, llm


def hindi_story(library: Library) -> int:
    story = library.create_story("रवि बाज़ार में", language="hi", narration=b"")
    sentences = [Sentence(i, 2.0 * i, 2.0 * i + 1.8, hi, en) for i, (hi, en) in enumerate(HINDI)]
    library.set_frames(story.id, frame_drafts(sentences, story))
    return story.id


def settings_for(pictures: NvidiaStub, llm: LLMStub, tmp_path):
    return stub_settings(pictures, data_dir=tmp_path, llm="auto", llm_base_url=llm.base_url)


def sent_prompts(pictures: NvidiaStub) -> list[str]:
    return [r.body["text_prompts"][0]["text"] for r in pictures.generation_requests()]


def test_while_the_writer_is_down_the_pictures_wait_and_the_job_asks_again(tmp_path, services):
    pictures, llm = services
    settings = settings_for(pictures, llm, tmp_path)
    library = Library(settings)
    story_id = hindi_story(library)
    assert library.get_story(story_id).frames[1].prompt == ""  # nothing to draw it from
    scenes_job = queue_pictures(settings, library, library.get_story(story_id), scenes_first=True)
    runtime = Runtime(settings, library)

    with pytest.raises(SceneWriterUnavailableError) as caught:
        run_job(runtime, scenes_job.id, last_try=False)
    assert caught.value.retry_after == 30
    state = progress(library, story_id)
    assert state.writer_waiting is not None and state.running
    assert state.summary.startswith("Pictures wait for the scene writer; retrying in 30 s.")
    assert "HTTP 500" in state.summary
    story = library.get_story(story_id)
    assert [f.scene_source for f in story.frames] == ["", "", ""]  # nothing written meanwhile
    assert pictures.generation_requests() == [] and llm.requests()

    # On the workers' queue the wait is the job's own (not the queue's three quick retries).
    task = open_queues(settings).tasks["pictures"]
    with pytest.raises(RetryTask) as retry:
        task.func(scenes_job.id, task=types.SimpleNamespace(retries=3))
    assert retry.value.delay == 60  # the second try waits twice as long

    llm.always = None  # the service is back
    assert run_job(runtime, scenes_job.id, last_try=False) == "done"
    story = library.get_story(story_id)
    assert [f.scene_source for f in story.frames] == [LLM, LLM, LLM]
    [draw] = [j for j in JobBook(library).of_story(story_id) if j.kind == "draw"]
    assert run_job(runtime, draw.id) == "done"
    assert sorted(sent_prompts(pictures)) == sorted(f.prompt for f in story.frames)
    assert all("Ravi at the market" in p for p in sent_prompts(pictures))


def test_when_the_writer_stays_down_only_trusted_lines_are_drawn_and_printed(tmp_path, services):
    pictures, llm = services
    settings = settings_for(pictures, llm, tmp_path)
    library = Library(settings)
    story_id = hindi_story(library)
    scenes_job = queue_pictures(settings, library, library.get_story(story_id), scenes_first=True)
    runtime = Runtime(settings, library)
    for _ in range(WRITER_TRIES - 1):
        with pytest.raises(SceneWriterUnavailableError):
            run_job(runtime, scenes_job.id, last_try=False)
    assert run_job(runtime, scenes_job.id, last_try=False) == "done"  # the offline path now

    story = library.get_story(story_id)
    assert [f.scene_source for f in story.frames] == [OFFLINE, "", OFFLINE]
    [draw] = [j for j in JobBook(library).of_story(story_id) if j.kind == "draw"]
    assert run_job(runtime, draw.id) == "done"
    story = library.get_story(story_id)
    assert [f.status for f in story.frames] == ["done", "pending", "done"]
    assert "1 wait for an English line" in JobBook(library).get(draw.id).detail
    drawn = " ".join(sent_prompts(pictures))
    assert "A little boy went to the market." in drawn and "Then he came back home." in drawn
    assert "सेब" not in drawn  # the sentence itself is never sent in place of English
    assert progress(library, story_id).writer_waiting is None

    pdf = export_pdf(story, library)
    assert b"watching" not in pdf.lower()


def test_the_command_line_takes_the_trusted_lines_at_once(tmp_path, services):
    """No queue retries the CLI's own jobs: it does not wait minutes for the writer."""
    pictures, llm = services
    settings = settings_for(pictures, llm, tmp_path)
    library = Library(settings)
    story_id = hindi_story(library)
    scenes_job = queue_pictures(settings, library, library.get_story(story_id), scenes_first=True)
    runtime = Runtime(settings, library, retried_by_queue=False)
    assert run_job(runtime, scenes_job.id) == "done"
    assert [f.scene_source for f in library.get_story(story_id).frames] == [OFFLINE, "", OFFLINE]


# --- the page ----------------------------------------------------------------------------------
@pytest.fixture
def app_env(tmp_path, monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_APP_WORKER", "none")  # the jobs the page queues stay queued
    return monkeypatch


def waiting_writer(library: Library, story_id: int) -> None:
    """The story's scenes job, as a worker leaves it after finding the writer down."""
    book = JobBook(library)
    job = book.create(WriteScenes(story_id, then=Draw(story_id)))
    book.start(job.id, 60)
    book.progress(job.id, 0, 1, "Pictures wait for the scene writer; retrying in 30 s. "
                  "The scene writer got no scenes: the LLM service failed (HTTP 500).")  # fmt: skip
    book.requeue(job.id)


def test_the_teacher_draws_waiting_pictures_from_own_words(app_env):
    with Library(Settings.load()) as library:
        story_id = hindi_story(library)
        waiting_writer(library, story_id)
        at = open_page(STORY_PAGE, story=str(story_id))
        assert not at.exception
        [waiting] = [i.value for i in at.info if "wait for the scene writer" in i.value]
        assert waiting.startswith("Pictures wait for the scene writer; retrying in 30 s.")
        assert "No English words yet" in texts(at)  # sentence 2 says what it waits for
        at = button(at, "Draw from my own words").click().run()
        fields = [t for t in at.text_input if "in English, for the picture" in t.label]
        assert [f.value for f in fields] == [en for _, en in HINDI]  # the trusted lines offered
        fields[1].input("Ravi buys three red apples at a fruit stall.")
        at = next(b for b in at.button if b.label == "Draw these pictures").click().run()
        assert not at.exception and not at.error

        story = library.get_story(story_id)
        assert [f.scene_source for f in story.frames] == [TEACHER] * 3
        assert "three red apples" in story.frames[1].prompt
        jobs = JobBook(library).of_story(story_id)
        assert [(j.kind, j.state) for j in jobs] == [("scenes", "cancelled"), ("draw", "queued")]
        at = open_page(STORY_PAGE, story=str(story_id))
        assert "Scene written by you" in texts(at)


def test_a_computer_with_no_connection_takes_the_trusted_lines_at_once(tmp_path):
    """No connection at all (a classroom offline, a local picture model): nothing to wait for,
    as with the picture service."""
    with NvidiaStub() as pictures:
        closed = f"http://127.0.0.1:{free_port()}/v1"
        settings = stub_settings(pictures, data_dir=tmp_path, llm="auto", llm_base_url=closed)
        library = Library(settings)
        story_id = hindi_story(library)
        job = queue_pictures(settings, library, library.get_story(story_id), scenes_first=True)
        assert run_job(Runtime(settings, library), job.id, last_try=False) == "done"
    story = library.get_story(story_id)
    assert [f.scene_source for f in story.frames] == [OFFLINE, "", OFFLINE]
    assert "no connection" in story.bible["notice"]


def test_the_synthetic_hindi_with_the_writer_down_sends_and_prints_no_invented_english(tmp_path):
    """Issue 18: with the LLM answering HTTP 500, the synthetic Hindi (which base hears as
    another language) was drawn and printed as "I will not let you go." three times. Now only
    English lines that pass the checks reach the picture service or the PDF."""
    with NvidiaStub() as pictures, LLMStub(key=pictures.key, story=STORY, always="500") as llm:
        env = cli_env(tmp_path / "data", pictures, S2I_LLM="auto", S2I_LLM_BASE_URL=llm.base_url)
        made = run_cli("story", FIXTURES / "hi_story.wav", "--title", "Ravi", "--json", env=env)
        sent = sent_prompts(pictures)
    story = json.loads(made.stdout)
    assert llm.requests() and "HTTP 500" in made.stderr
    english = [f["text_en"] for f in story["frames"] if f["text_en"]]
    assert all(check_line(line, 30.0).usable for line in english)
    assert len(sent) == len(english)  # a frame without a trusted English line is not drawn
    for frame in story["frames"]:
        assert frame["prompt"] in sent if frame["text_en"] else not frame["prompt"]
    pdf = tmp_path / "ravi.pdf"  # beside the data folder: exports never go into it
    run_cli("export", str(story["id"]), "--pdf", pdf, env=env)
    printed = " ".join(pdftotext(pdf).split())
    assert all(" ".join(line.split()) in printed for line in english)
    assert not any(phrase in printed.lower() for phrase in known_phrases())
