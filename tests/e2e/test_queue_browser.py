"""Work that outlives the page, in a real browser: a school's topology on one machine.

The app runs with ``S2I_APP_WORKER=none`` (it serves pages only) and a separate
``python -m s2i_core worker`` does the transcription and the drawing. The teacher leaves the
Create page while pictures are drawn, closes the tab, and finds the story complete later; the app
process that served the transcription (and the transcription again, from the sentence step)
holds no Whisper model.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from s2i_core.jobs import JobBook
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from tests.e2e.app_server import app_env, app_server, stand_in
from tests.e2e.test_browser import (
    DESKTOP,
    ROOT,
    STEP_TIMEOUT_MS,
    TRANSCRIBE_TIMEOUT_MS,
    eventually,
    idle,
    shot,
)
from tests.nvidia_stub import NvidiaStub

pytestmark = pytest.mark.e2e

SENTENCES = [
    "Nina planted a tiny seed.",
    "It rained all night long.",
    "In the morning a green shoot appeared.",
    "By summer it was a tall sunflower.",
    "The birds came to eat its seeds.",
]


@pytest.fixture(scope="module")
def school(tmp_path_factory, artifacts) -> Iterator[tuple[str, Path, NvidiaStub]]:
    """Pages in one process, work in another, pictures from the stand-in."""
    data_dir = tmp_path_factory.mktemp("school")
    with NvidiaStub(latency=0.2) as stub:
        env = {
            "S2I_DATA_DIR": str(data_dir),
            "S2I_APP_WORKER": "none",
            "S2I_WHISPER_MODEL": "tiny.en",
            "S2I_IMAGE_CONCURRENCY": "1",  # one picture at a time
            "S2I_IMAGE_TIMEOUT": "600",  # a hang guard: a held picture never runs out of time
            **stand_in(stub),
        }
        with open(artifacts / "queue-worker.log", "wb") as worker_log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "s2i_core", "worker"],
                cwd=ROOT, env=app_env(env), stdout=worker_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                with app_server(env, artifacts / "queue-streamlit.log") as url:
                    yield url, data_dir, stub
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)


def test_pictures_keep_coming_while_the_teacher_is_elsewhere(browser, school, artifacts):
    url, data_dir, stub = school
    library = Library(Settings(data_dir=data_dir))
    story = library.create_story("The sunflower", language="en", style="storybook")
    library.set_frames(
        story.id,
        [FrameDraft(i, 2.0 * i, 2.0 * i + 2, text, text) for i, text in enumerate(SENTENCES)],
    )

    teacher = browser.new_context(viewport=DESKTOP)
    page = teacher.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(f"{url}/create?draft={story.id}")  # the draft, as after transcription
    stub.behaviour.hold_after = 2  # the third picture is held until the teacher has gone
    page.get_by_role("button", name="Generate storyboard").click()
    expect(page.get_by_text("You can leave this page")).to_be_visible()
    stub.wait_until_held(1, timeout=180)  # two pictures drawn, the third on its way
    shot(page, artifacts, "queue-01-drawing")

    page.get_by_role("link", name="Library").click()  # away from the Create page, mid-way
    expect(page.get_by_text("Drawing:")).to_be_visible()
    idle(page)
    shot(page, artifacts, "queue-02-library-while-drawing")
    assert _done(library, story.id) == 2
    teacher.close()  # the tab is closed too
    stub.release_held()

    eventually(lambda: not JobBook(library).active(), 120, "the worker to finish the story")
    assert library.get_story(story.id).status == "complete"

    page = browser.new_context(viewport=DESKTOP).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(f"{url}/story?story={story.id}")
    expect(page.get_by_text(f"{len(SENTENCES)} of {len(SENTENCES)} pictures")).to_be_visible()
    done = page.get_by_text(re.compile(r"^\d+ · [\d:.–]+ · check_circle Done$"))
    expect(done).to_have_count(len(SENTENCES))
    idle(page)
    shot(page, artifacts, "queue-03-complete")
    prompts = [r.body["text_prompts"][0]["text"] for r in stub.generation_requests()]
    assert len(prompts) == len(set(prompts)) == len(SENTENCES)  # each frame drawn once
    page.context.close()


def test_an_app_without_a_local_worker_holds_no_speech_model(browser, school, artifacts):
    url, data_dir, _stub = school
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(f"{url}/create")
    page.get_by_text("Sample story").click()
    page.get_by_role("button", name="Use the sample story").click()
    idle(page)
    page.get_by_role("button", name="Transcribe the narration").click()
    expect(page.get_by_text("3 · Check the sentences")).to_be_visible(timeout=TRANSCRIBE_TIMEOUT_MS)
    shot(page, artifacts, "queue-04-transcribed-by-the-worker")
    library = Library(Settings(data_dir=data_dir))
    [latest] = library.list_stories(limit=1)
    [job] = [j for j in JobBook(library).of_story(latest.id) if j.kind == "transcribe"]
    assert job.state == "done"  # done by the worker process

    page.get_by_text("Not right? Choose the language and transcribe again").click()
    page.get_by_role("button", name="Transcribe again").click()  # in the language shown
    eventually(lambda: _heard(library, latest.id) == ["done", "done"], 120, "a second hearing")
    expect(page.get_by_text("3 · Check the sentences")).to_be_visible(timeout=TRANSCRIBE_TIMEOUT_MS)
    assert library.get_story(latest.id).frames  # the sentences, heard again by the worker

    page.goto(url)  # Home reports the speech model of the process serving the pages
    page.get_by_text("Details", exact=True).click()  # engine names: in the teacher's Details
    expect(page.get_by_text("this app process holds no speech model")).to_be_visible()
    expect(page.get_by_text("Running on")).to_have_count(0)
    page.context.close()


def test_a_failed_hearing_again_keeps_the_sentences_and_says_why(browser, school, artifacts):
    """Issue 18: choosing another language and transcribing again used to drop the sentences
    first; when the new hearing failed the story was left with none. The narration here can no
    longer be read, so the worker's hearing fails: the sentences stay, and the page says why."""
    url, data_dir, _stub = school
    library = Library(Settings(data_dir=data_dir))
    story = library.create_story(
        "Le chat", language="fr", narration=b"not audio any more", narration_ext="wav"
    )
    library.set_frames(
        story.id,
        [
            FrameDraft(i, 2.0 * i, 2.0 * i + 2, t, en, f"{en}, storybook")
            for i, (t, en) in enumerate(FRENCH)
        ],
    )
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(f"{url}/create?draft={story.id}")
    expect(page.get_by_text("3 · Check the sentences")).to_be_visible()
    page.get_by_text("Not right? Choose the language and transcribe again").click()
    page.get_by_test_id("stSelectbox").filter(has_text="Language of the narration").click()
    page.keyboard.type("English")
    page.keyboard.press("Enter")
    idle(page)
    page.get_by_role("button", name="Transcribe again").click()

    failed = page.get_by_text("Transcribing it again in English did not work")
    expect(failed).to_be_visible(timeout=TRANSCRIBE_TIMEOUT_MS)
    expect(page.get_by_text("nothing was lost")).to_be_visible()
    for n, (text, _english) in enumerate(FRENCH, 1):
        sentence = page.get_by_role("textbox", name=f"Sentence {n}", exact=True)
        expect(sentence).to_have_value(text)
    shot(page, artifacts, "queue-05-hearing-again-failed")
    kept = library.get_story(story.id)
    assert [(f.text, f.text_en) for f in kept.frames] == FRENCH and kept.language == "fr"
    assert _heard(library, story.id) == ["failed"]  # by the worker process
    page.context.close()


FRENCH = [
    ("Le petit chat dort sur le lit.", "The little cat sleeps on the bed."),
    ("Le matin, il boit du lait froid.", "In the morning he drinks cold milk."),
]


def _heard(library: Library, story_id: int) -> list[str]:
    return [j.state for j in JobBook(library).of_story(story_id) if j.kind == "transcribe"]


def _done(library: Library, story_id: int) -> int:
    return sum(f.status == "done" for f in library.get_story(story_id).frames)
