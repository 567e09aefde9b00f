"""The read-along replay page in Chromium, without the app around it: it follows the audio, moves
with the arrow keys and buttons, highlights words, and shows hostile text only as text."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from s2i_core.audio import wav_bytes
from s2i_core.replay import ReplayFrame, ReplayWord, replay_html

pytestmark = pytest.mark.e2e

HOSTILE = [
    'The fox <img src=x onerror="window.__pwned = 1"> smiled.',
    "</script><script>window.__pwned = 2</script> The river & the <b>boat</b>.",
    "<script>window.__pwned = 3</script>Home again.",
]


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def tone(seconds: float) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return wav_bytes((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))


@pytest.fixture
def replay(browser):
    frames = [
        ReplayFrame(0.0, 3.0, HOSTILE[0], png((200, 40, 40)), "image/png"),
        ReplayFrame(
            3.0,
            6.0,
            HOSTILE[1],
            png((40, 200, 40)),
            "image/png",
            words=tuple(
                ReplayWord(w, 3.0 + i, 4.0 + i)
                for i, w in enumerate(
                    [
                        "</script><script>window.__pwned",
                        "=",
                        "2</script>",
                        "The",
                        "river",
                        "&",
                        "the",
                        "<b>boat</b>.",
                    ]
                )
            ),
        ),
        ReplayFrame(6.0, 9.0, HOSTILE[2]),  # no picture yet: the sentence is shown on a card
    ]
    page = browser.new_page(viewport={"width": 768, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_content(replay_html(frames, tone(9.0), "audio/wav", '<img src=x onerror="alert(1)">'))
    page.wait_for_function("document.getElementById('audio').readyState >= 1")
    yield page, dialogs
    page.close()


def state(page) -> dict:
    return page.evaluate(
        """() => ({
            index: document.getElementById('replay').dataset.index,
            sentence: document.getElementById('sentence').textContent,
            picture: document.getElementById('picture').hidden ? null
                     : document.getElementById('picture').getAttribute('src'),
            alt: document.getElementById('picture').alt,
            card: document.getElementById('card').hidden ? null
                  : document.getElementById('card-text').textContent,
            now: [...document.querySelectorAll('.word.now')].map(s => s.textContent),
        })"""
    )


def seek(page, seconds: float) -> None:
    page.evaluate(f"document.getElementById('audio').currentTime = {seconds}")
    page.wait_for_function(
        f"Math.abs(document.getElementById('audio').currentTime - {seconds}) < 0.01"
    )


def test_hostile_text_is_shown_as_text_and_never_runs(replay):
    page, dialogs = replay
    first = state(page)
    assert first["sentence"] == HOSTILE[0] and first["alt"] == HOSTILE[0]
    seek(page, 4.5)
    assert state(page)["sentence"] == HOSTILE[1]
    seek(page, 7.0)
    assert state(page)["card"] == HOSTILE[2]
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src='x'], b, #sentence script").count() == 0
    assert dialogs == []


def test_seeking_the_audio_moves_the_picture_and_the_highlight(replay):
    page, _ = replay
    first = state(page)
    assert first["index"] == "0" and first["picture"].startswith("data:image/png;base64,")
    seek(page, 4.5)  # second sentence, second word ("=", spoken 4.0 to 5.0)
    second = state(page)
    assert second["index"] == "1"
    assert second["picture"] != first["picture"]
    assert second["now"] == ["="]
    seek(page, 1.0)
    assert state(page) == first


def test_arrow_keys_and_buttons_step_through_the_pictures(replay):
    page, _ = replay
    page.locator("#replay").focus()
    page.keyboard.press("ArrowRight")
    assert state(page)["index"] == "1"
    assert page.evaluate("document.getElementById('audio').currentTime") == pytest.approx(3.01)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # already at the last picture: stays there
    assert state(page)["index"] == "2" and page.locator("#next").is_disabled()
    page.locator("#prev").click()
    assert state(page)["index"] == "1"
    page.keyboard.press("ArrowLeft")
    assert state(page)["index"] == "0" and page.locator("#prev").is_disabled()


def test_replay_fits_a_tablet_without_sideways_scrolling(replay):
    page, _ = replay
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
