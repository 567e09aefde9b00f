"""A misheard language leads somewhere: French narration that Whisper base hears as Thai (and
loops on) is not "no words could be heard" but "We could not make out words in Thai. Which
language is the story in?", in the engine, on the job and on the command line, which names
--language; told the language, the story is heard. Real silence keeps its own message."""

from __future__ import annotations

import numpy as np
import pytest

from s2i_core.audio import DecodedAudio, decode_audio
from s2i_core.errors import MisheardLanguageError, NoSpeechError
from s2i_core.settings import Settings
from s2i_core.speech import TranscriptionInfo, nothing_heard, transcribe
from s2i_core.storage import Library
from tests.app import test_app
from tests.cli.test_cli import FIXTURES, cli_env, run_cli

MISHEARD = "We could not make out words in Thai. Which language is the story in?"
FRENCH_WORDS = {"petit", "chat", "lit", "matin", "lait", "enfants", "jardin", "ballon", "rouge"}


def words(text: str) -> set[str]:
    return {w.strip(".,!?'").lower() for w in text.split()}


def test_french_heard_as_thai_asks_which_language_it_is(engine_settings, speech_engine):
    audio = decode_audio(FIXTURES / "fr_misheard.wav", engine_settings)
    with pytest.raises(MisheardLanguageError) as caught:
        transcribe(audio, engine_settings, engine=speech_engine)
    assert str(caught.value) == MISHEARD and caught.value.language == "th"
    told = transcribe(audio, engine_settings, "fr", speech_engine)  # the teacher chose French
    assert told.info.language == "fr" and len(words(told.text) & FRENCH_WORDS) >= 3


def test_silence_and_noise_are_still_no_words():
    info = TranscriptionInfo("th", 0.3, 4.0, "e", "m", "cpu", "int8", speech_seconds=0.2)
    assert not isinstance(nothing_heard(info), MisheardLanguageError)
    assert "No words could be heard" in str(nothing_heard(info))
    sure = TranscriptionInfo("fr", 0.9, 4.0, "e", "m", "cpu", "int8", speech_seconds=3.5)
    assert "No words could be heard" in str(nothing_heard(sure))  # a known language heard nothing
    guessed = TranscriptionInfo("th", 0.3, 4.0, "e", "m", "cpu", "int8", speech_seconds=3.5)
    assert str(nothing_heard(guessed)) == MISHEARD


def test_hiss_alone_is_no_words(engine_settings, speech_engine):
    hiss = np.random.default_rng(3).normal(0, 0.05, 4 * 16000).astype(np.float32)
    with pytest.raises(NoSpeechError) as caught:
        transcribe(DecodedAudio(hiss, 4.0, "wav"), engine_settings, engine=speech_engine)
    assert not isinstance(caught.value, MisheardLanguageError)


def test_the_command_line_asks_for_language_and_finishes_the_story_in_it(tmp_path):
    env = cli_env(tmp_path)
    told = run_cli(
        "story", FIXTURES / "fr_misheard.wav", "--title", "Le chat", env=env, check=False
    )
    assert told.returncode == 2, told.stderr
    assert f"error: {MISHEARD} Give it with --language (for example --language fr)." in told.stderr

    with Library(Settings(data_dir=tmp_path)) as library:
        [story] = library.list_stories()
        kept = library.get_story(story.id)
    assert kept.sentences_missing and kept.frames == [] and kept.language == ""  # no guess kept
    finished = run_cli("regenerate", str(story.id), "--language", "fr", "--json", env=env)
    assert '"language": "fr"' in finished.stdout
    with Library(Settings(data_dir=tmp_path)) as library:
        story = library.get_story(story.id)
    assert not story.sentences_missing and story.frames
    assert len(words(" ".join(f.text for f in story.frames)) & FRENCH_WORDS) >= 3


# --- the Create page ---------------------------------------------------------------------------
env, library = test_app.env, test_app.library  # the same fixtures


def test_the_create_page_asks_for_the_language_right_there_and_hears_it(env, library):
    at = test_app.open_page(test_app.CREATE, timeout=300)
    french = (FIXTURES / "fr_misheard.wav").read_bytes()
    at = test_app.upload_and_transcribe(at, "conte.wav", french)
    at = test_app.settle(at, library, timeout=300).run()  # the app's worker hears Thai
    assert not at.exception
    assert [e.value for e in at.error] == [MISHEARD]
    story_id = at.session_state["draft"].story_id
    picker = at.selectbox(key=f"c_again_language_{story_id}")
    assert picker.label == "Language of the narration" and picker.value is None
    at = test_app.button(at, "Transcribe again").click().run()
    assert "Choose the language the story is told in first." in test_app.texts(at)

    at = at.selectbox(key=f"c_again_language_{story_id}").set_value("fr").run()
    at = test_app.button(at, "Transcribe again").click().run()
    at = test_app.settle(at, library, timeout=300).run()  # heard again, in French
    assert not at.exception and not at.error
    assert "3 · Check the sentences" in [h.value for h in at.subheader]
    assert "Heard as French" in test_app.texts(at)
    heard = " ".join(t.value for t in at.text_area)
    assert len(words(heard) & FRENCH_WORDS) >= 3
