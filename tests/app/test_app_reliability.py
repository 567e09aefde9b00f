"""The app under misuse and interruption: an interrupted story is finished from the Story page,
page parameters never produce a traceback, and the teacher passcode cannot be guessed freely."""

from __future__ import annotations

import hmac

import pytest
from sqlalchemy import text

from s2i_core.storage import Library
from tests.app import test_app
from tests.app.test_app import (
    CREATE,
    LIBRARY,
    PASSCODE,
    STORY,
    button,
    labels,
    open_page,
    settle,
    texts,
    unlock,
)
from tests.cli.test_interrupted import ROOT

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
    at = settle(at, library, timeout=240)  # the app's worker transcribes, then draws
    finished = library.get_story(story.id)
    assert finished.status == "complete" and len(finished.frames) == 6
    assert {f.status for f in finished.frames} == {"done"}
    assert "Finish this story" not in labels(at)
    assert len(pictures.generation_requests()) == 6


# --- page parameters ---------------------------------------------------------------------------
HOSTILE_IDS = [
    "²",  # Python's isdigit() says yes, int() says no
    "٣",  # an Arabic-Indic three: int() reads it, a database id it is not
    "99999999999999999999",
    "9223372036854775808",  # one past the largest database id
    "-1",
    "0",
    "1e3",
    "1.5",
    " 7 ",
    "abc",
    "<script>alert(1)</script>",
    "%00",
    "424242",  # well formed, no such story
]
PAGE_PARAMETERS = [(STORY, "story"), (CREATE, "draft")]  # every parameter a page reads


@pytest.mark.parametrize(("page", "parameter"), PAGE_PARAMETERS)
def test_every_page_parameter_says_not_found_instead_of_a_traceback(env, library, page, parameter):
    library.create_story("A real story")  # id 1 exists; none of the values below names it
    for value in HOSTILE_IDS:
        at = open_page(page, **{parameter: value})
        assert not at.exception, (value, at.exception)
        assert "not found" in texts(at), value
        assert "Traceback" not in texts(at) and ".py" not in texts(at)


def test_pages_ignore_parameters_they_do_not_read(env, library):
    for name in (LIBRARY, STORY, CREATE):
        at = open_page(name, story="²", draft="-1", p="99999999999999999999", q="\x00")
        assert not at.exception, (name, at.exception)


# --- passcode guessing -------------------------------------------------------------------------
def forty_wrong_tries(at):
    """40 guesses as fast as the form takes them; returns the messages the guesser saw."""
    seen = []
    for n in range(40):
        at = unlock(at, f"guess-{n}")
        seen.append(next(e.value for e in at.error))
    return at, seen


def can_create(at) -> bool:
    return any(widget.key == "c_title" for widget in at.text_input)


def time_passes(library: Library, seconds: float) -> None:
    """Move every recorded wrong try ``seconds`` into the past (instead of sleeping)."""
    with library.engine.begin() as connection:
        connection.execute(
            text("UPDATE passcode_failures SET failed_at = failed_at - :s"), {"s": seconds}
        )


def test_forty_guesses_slow_down_their_browser_and_the_teachers_browser_unlocks_at_once(
    classroom, library, monkeypatch
):
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append(a) or real(a, b))
    at, seen = forty_wrong_tries(open_page(CREATE))
    assert all("not right" in message for message in seen[:4])
    assert "next try is possible in 30 s" in seen[4]  # the fifth wrong try starts the waiting
    assert all("Too many wrong passcodes" in message for message in seen[5:])
    assert len(compared) == 5  # the other 35 guesses were not even compared

    at = unlock(at, PASSCODE)  # the right passcode, while the wait runs: refused as well
    assert "Too many wrong passcodes" in texts(at) and not can_create(at)
    teachers_browser = unlock(open_page(CREATE), PASSCODE)  # another browser: at once
    assert can_create(teachers_browser) and "Teacher mode is on." in texts(teachers_browser)

    time_passes(library, 31)
    at = unlock(at, "guess-again")  # one compared try after each wait, which then doubles
    assert "next try is possible in 1 min 0 s" in texts(at)
    time_passes(library, 61)
    at = unlock(at, PASSCODE)
    assert can_create(at) and "Teacher mode is on." in texts(at)
    with library.engine.connect() as connection:  # the right passcode clears its browser's count
        counted = "SELECT count(*) FROM passcode_failures WHERE scope != 'all'"
        assert connection.execute(text(counted)).scalar() == 0


def _page_with_a_job_that_just_ended():
    """A page whose live part (a fragment refreshed each second) finds its job ended as the page
    is drawn, above a button: the moment a teacher presses "Merge" as the scene writer ends."""
    import streamlit as st

    from s2i_ui.widgets import rerun_page

    st.session_state["runs"] = st.session_state.get("runs", 0) + 1

    @st.fragment(run_every=1.0)
    def watch() -> None:
        rerun_page()  # the job has ended: show the page again

    watch()
    if st.button("Merge with next"):
        st.session_state["merged"] = True


def test_a_click_is_not_lost_when_a_job_ends_as_the_page_is_drawn():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page_with_a_job_that_just_ended, default_timeout=60).run()
    assert at.session_state["runs"] == 1
    at = at.button[0].click().run()
    assert at.session_state["merged"] is True
    assert at.session_state["runs"] == 2  # the click's own run, not one run again without it
