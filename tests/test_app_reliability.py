"""The app under misuse and interruption: an interrupted story is finished from the Story page,
page parameters never produce a traceback, and the teacher passcode cannot be guessed freely."""

from __future__ import annotations

from tests import test_app
from tests.test_app import LIBRARY, STORY, button, labels, open_page, texts
from tests.test_interrupted import ROOT

env, classroom, library, pictures = (  # the same fixtures
    test_app.env,
    test_app.classroom,
    test_app.library,
    test_app.pictures,
)
SIX = ROOT / "bench" / "clips" / "six_sentences.ogg"


def test_an_interrupted_story_is_finished_from_the_story_page(env, library, pictures):
    """Killed before its first sentence: only the narration was saved. The teacher finishes it:
    the narration is transcribed again and every sentence gets its picture."""
    env.setenv("S2I_WHISPER_MODEL", "tiny.en")
    story = library.create_story(
        "Mia's map",
        language="en",
        duration=20.0,
        style="storybook",
        image_model="stabilityai/stable-diffusion-xl",
        image_params={"model": "stabilityai/stable-diffusion-xl", "steps": 5, "seed": 7},
        narration=SIX.read_bytes(),
        narration_ext="ogg",
        sentences_missing=True,
    )
    listed = open_page(LIBRARY)
    assert "Interrupted: 0 of 0 pictures so far" in texts(listed)

    at = open_page(STORY, timeout=240, story=str(story.id))
    assert "stopped half-way" in texts(at)
    at = button(at, "Finish this story").click().run()
    finished = library.get_story(story.id)
    assert finished.status == "complete" and len(finished.frames) == 6
    assert {f.status for f in finished.frames} == {"done"}
    assert "Finish this story" not in labels(at)
    assert len(pictures.generation_requests()) == 6
