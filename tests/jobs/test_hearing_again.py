"""Transcribing again never destroys: a draft heard again in another language keeps its
sentences, scenes and bible until the new hearing has succeeded, and when it fails the teacher
(or the command line) is told why; an interrupted story says what actually stopped it.

The failing hearing here is a narration that can no longer be read (the disk lost it), so no
speech model is needed: whatever the failure, nothing of the story is touched.
"""

from __future__ import annotations

import pytest

from s2i_core.jobs import JobBook, Transcribe, progress, transcribe_again
from s2i_core.jobs.registry import run_job
from s2i_core.jobs.runtime import Runtime
from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.storage import Library
from s2i_core.story.bible import LLM, Character, StoryBible
from s2i_core.story.drafts import frame_drafts
from s2i_core.story.scenes import set_frame_scene
from s2i_core.story.sentences import Sentence
from tests.app.test_app import CREATE, STORY, button, open_page, settle, texts
from tests.cli.test_cli import cli_env, run_cli

FRENCH = [
    ("Le petit chat dort sur le lit.", "The little cat sleeps on the bed."),
    ("Le matin, il boit du lait froid.", "In the morning he drinks cold milk."),
    ("Les enfants jouent dans le jardin.", "The children play in the garden."),
]
CAT = StoryBible((Character("Minou", "a small grey cat"),), "a French farmhouse", LLM)


def french_draft(library: Library) -> int:
    """A French draft with scenes by the writer, whose stored narration can no longer be read."""
    story = library.create_story(
        "Le chat", language="fr", narration=b"this is not audio any more", narration_ext="wav"
    )
    library.update_story(story.id, language_probability=0.91, bible=CAT.to_json() | {"path": LLM})
    sentences = [Sentence(i, 2.0 * i, 2.0 * i + 1.8, t, en) for i, (t, en) in enumerate(FRENCH)]
    library.set_frames(story.id, frame_drafts(sentences, library.get_story(story.id)))
    for frame in library.get_story(story.id).frames:
        set_frame_scene(library, story.id, frame.id, frame.text_en, f"Minou: {frame.text_en}")
    book = JobBook(library)
    heard = book.create(Transcribe(story.id, "fr"))
    book.start(heard.id, 60)
    book.finish(heard.id)  # heard once, in French
    return story.id


def as_it_was(story) -> tuple:
    return (
        story.language,
        story.bible,
        [(f.text, f.text_en, f.scene, f.scene_source, f.prompt) for f in story.frames],
    )


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_LLM", "off")
    return monkeypatch


def test_a_failed_hearing_again_keeps_every_sentence_scene_and_the_bible(tmp_path):
    settings = Settings(data_dir=tmp_path, llm="off")
    library = Library(settings)
    story_id = french_draft(library)
    before = as_it_was(library.get_story(story_id))

    [job] = transcribe_again(settings, library, story_id, "en")
    assert as_it_was(library.get_story(story_id)) == before  # nothing touched while it waits
    assert run_job(Runtime(settings, library), job.id) == "failed"

    story = library.get_story(story_id)
    assert as_it_was(story) == before and not story.sentences_missing
    assert story.status == "draft"  # not "interrupted": nothing stopped half-way
    failed = progress(library, story_id).last
    assert failed.state == "failed" and "could not be read" in failed.error.lower()


def test_the_command_line_says_why_and_keeps_the_sentences(tmp_path):
    with Library(Settings(data_dir=tmp_path, llm="off")) as library:
        story_id = french_draft(library)
        before = as_it_was(library.get_story(story_id))
    told = run_cli("regenerate", story_id, "--language", "en", env=cli_env(tmp_path), check=False)
    assert told.returncode == 2 and "could not be read" in told.stderr.lower()
    with Library(Settings(data_dir=tmp_path, llm="off")) as library:
        assert as_it_was(library.get_story(story_id)) == before
    shown = run_cli("show", story_id, env=cli_env(tmp_path))
    assert "Le petit chat dort sur le lit." in shown.stdout


def test_the_create_page_says_why_and_still_shows_the_sentences(env, tmp_path):
    with Library(Settings.load()) as library:
        story_id = french_draft(library)
        at = open_page(CREATE, draft=str(story_id))
        assert [t.value for t in at.text_area][:3] == [t for t, _ in FRENCH]
        at = at.selectbox(key=f"c_relanguage_{story_id}").set_value("en").run()
        at = at.button(key="c_transcribe_again").click().run()
        assert "Transcribing the narration" in [h.value for h in at.subheader]
        at = settle(at, library).run()  # the app's worker tries, and fails
        assert not at.exception
        [error] = [e.value for e in at.error]
        assert error.startswith("Transcribing it again in English did not work:")
        assert "could not be read" in error.lower() and "in French; nothing was lost" in error
        assert [t.value for t in at.text_area][:3] == [t for t, _ in FRENCH]
        assert "Heard as French" in texts(at)


def test_an_interrupted_story_says_what_stopped_it(env, tmp_path):
    env.setenv("S2I_APP_WORKER", "none")
    with Library(Settings.load()) as library:
        story = library.create_story("Le chat", narration=b"\0" * 64, sentences_missing=True)
        book = JobBook(library)
        job = book.create(Transcribe(story.id))
        book.start(job.id, 60)
        book.finish(
            job.id,
            "failed",
            error="We could not make out words in Thai. Which language is the story in?",
        )
        library.update_story(story.id, status="interrupted", language_probability=0.38)
    at = open_page(STORY, story=str(story.id))
    assert not at.exception
    page = texts(at)
    assert "Making this story stopped: We could not make out words in Thai." in page
    assert "the app was closed" not in page
    assert at.selectbox(key=f"finish_language_{story.id}").value is None  # the teacher chooses
    assert button(at, "Finish this story")
