"""The classroom experience in Chromium at the screens classrooms have: a replay that fits a laptop,
a projector and a tablet without scrolling, keys from the moment the page opens, full screen; a
story fixed after drawing; errors in plain sight; a student view without the machinery; teacher
mode that lasts the lesson; phones and tablets. Screenshots go to test-artifacts/e2e/classroom-*.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Frame, Locator, Page, expect

from s2i_core.audio import wav_bytes
from s2i_core.pictures.images import thumbnail
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from tests.e2e.app_server import app_server, stand_in
from tests.e2e.test_browser import eventually, idle, replay_frame
from tests.nvidia_stub import NvidiaStub, draw_picture
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSCODE = "quiet-lynx-5"
STEP_MS = 60_000
SENTENCES = [
    "The fox found a red balloon in the snowy forest.",
    "The balloon flew high over the frozen river.",
    "The fox came home with blood on its paw.",  # stopped by the classroom word list
    "Then the fox and the balloon slept by the fire.",
]
BLOCKED = 2
STOPPED = "Stopped by the classroom word list: “blood” in the sentence."  # what drawing left
FIXED = "The fox came home with red berries on its paw."
CLASSROOM_SCREENS = {
    "laptop-1366x768": {"width": 1366, "height": 768},
    "projector-1280x720": {"width": 1280, "height": 720},
    "full-hd-1920x1080": {"width": 1920, "height": 1080},
    "tablet-768x1024": {"width": 768, "height": 1024},
}
PHONE = {"width": 390, "height": 844}
TABLET = CLASSROOM_SCREENS["tablet-768x1024"]
REPLAY_PARTS = ("#stage", "#sentence", "#play", "#prev", "#next", "#full")


def seed_story(library: Library, title: str, pictures: bool) -> int:
    seconds = 3.0 * len(SENTENCES)
    t = np.arange(int(16000 * seconds)) / 16000
    narration = wav_bytes((0.1 * np.sin(2 * np.pi * 330 * t)).astype(np.float32))
    story = library.create_story(
        title=title,
        class_name="Year 2 Robins",
        language="en",
        duration=seconds,
        style="storybook",
        image_model="stabilityai/stable-diffusion-xl",
        image_params={"model": "stabilityai/stable-diffusion-xl", "steps": 5, "seed": 7},
        narration=narration,
        narration_ext="wav",
    )
    frames = library.set_frames(
        story.id,
        [
            FrameDraft(i, 3.0 * i, 3.0 * i + 3, text, text, prompt=text)
            for i, text in enumerate(SENTENCES)
        ],
    )
    if pictures:
        for frame in frames:
            if frame.index == BLOCKED:
                library.save_frame_result(frame.id, "filtered", error=STOPPED)
            else:
                picture = draw_picture(frame.prompt, 640, 480)  # 4:3, not the stage's default
                library.save_frame_result(
                    frame.id, "done", image=picture, thumbnail=thumbnail(picture)
                )
        library.refresh_story_status(story.id)
    return story.id


@pytest.fixture(scope="module")
def classroom(tmp_path_factory, artifacts) -> Iterator[tuple[str, Library, dict[str, int]]]:
    data_dir = tmp_path_factory.mktemp("classroom")
    library = Library(Settings(data_dir=data_dir))
    stories = {
        "drawn": seed_story(library, "The fox and the balloon", pictures=True),  # kept as is
        "to fix": seed_story(library, "The fox and the red berries", pictures=True),
        "draft": seed_story(library, "A draft about the fox", pictures=False),
    }
    with NvidiaStub(latency=1.0) as stub:
        env = {"S2I_DATA_DIR": str(data_dir), "S2I_TEACHER_PASSCODE": PASSCODE, **stand_in(stub)}
        with app_server(env, artifacts / "classroom-streamlit.log") as url:
            yield url, library, stories
    library.close()


def open_page(browser, url: str, size: dict, **context) -> Page:
    page = browser.new_context(viewport=size, **context).new_page()
    page.set_default_timeout(STEP_MS)
    page.goto(url)
    idle(page)
    return page


def snap(page: Page, artifacts: Path, name: str) -> None:
    """The screen as the class sees it (no scrolling, unlike test_browser's whole-page shots)."""
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / f"classroom-{name}.png")


def replay_ready(page: Page) -> Frame:
    replay = replay_frame(page)
    replay.wait_for_function("document.getElementById('audio').readyState >= 1")
    replay.wait_for_function("document.getElementById('picture').complete")
    return replay


def until_none(problems: Callable[[], list[str]], timeout: float = 30) -> list[str]:
    """Ask ``problems`` until it finds none (the layout settles on the picture, the frame's size
    and the window's in its own time), or until ``timeout``, a hang guard; what it found last."""
    found: list[str] = []

    def settled() -> bool:
        found[:] = problems()
        return not found

    with contextlib.suppress(AssertionError):  # the caller shows what was still wrong
        wait_for(settled, "the layout to settle", timeout, every=0.25)
    return found


def replay_index(replay: Frame) -> str:
    return replay.evaluate("document.getElementById('replay').dataset.index")


def link_problems(page: Page, link: Locator) -> list[str]:
    """Why ``link`` cannot be tapped where it is drawn: off the screen, or something (Streamlit's
    toolbar) lying over its centre."""
    box = link.bounding_box()
    if not on_screen(page, box):
        return [f"off the screen at {box}"]
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    if not page.evaluate(f"document.elementFromPoint({x}, {y})?.closest('a') !== null"):
        return [f"covered at its centre ({x:.0f}, {y:.0f})"]
    return []


def on_screen(page: Page, box: dict | None) -> bool:
    size = page.viewport_size
    return bool(box) and (
        box["x"] >= -1
        and box["y"] >= -1
        and box["x"] + box["width"] <= size["width"] + 1
        and box["y"] + box["height"] <= size["height"] + 1
    )


def unlock_in_sidebar(page: Page) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("Teacher passcode").fill(PASSCODE)
    sidebar.get_by_role("button", name="Unlock teacher mode").click()
    expect(page.get_by_text("Teacher mode is on.")).to_be_visible()
    idle(page)
    teacher_cookie = lambda: any(c["name"] == "s2i_teacher" for c in page.context.cookies())  # noqa: E731
    eventually(teacher_cookie, 60, "the server's teacher cookie")  # for the next reload


# --- 1. the replay on classroom screens --------------------------------------------------------
@pytest.mark.parametrize("screen", CLASSROOM_SCREENS)
def test_the_replay_fits_the_screen_without_scrolling(browser, classroom, artifacts, screen):
    url, _, stories = classroom
    page = open_page(browser, f"{url}/story?story={stories['drawn']}", CLASSROOM_SCREENS[screen])
    replay = replay_ready(page)
    natural = replay.evaluate(
        "(() => { const p = document.getElementById('picture');"
        " return p.naturalWidth / p.naturalHeight; })()"
    )
    assert natural == pytest.approx(4 / 3)

    def misfits() -> list[str]:
        found = [p for p in REPLAY_PARTS if not on_screen(page, replay.locator(p).bounding_box())]
        if page.evaluate("document.querySelector('[data-testid=stMain]').scrollTop") != 0:
            found.append("the page scrolled")
        # The 4:3 picture fills its stage: the stage takes the picture's shape, so no bars.
        stage = replay.locator("#stage").bounding_box()
        picture = replay.locator("#picture").bounding_box()
        if stage["width"] / stage["height"] != pytest.approx(natural, rel=0.02):
            found.append(f"the stage is {stage['width']}x{stage['height']}, not 4:3")
        if picture["width"] < stage["width"] - 3 or picture["height"] < stage["height"] - 3:
            found.append(f"the picture ({picture}) leaves bars in its stage ({stage})")
        if stage["height"] < 0.4 * page.viewport_size["height"]:
            found.append(f"the stage is a stamp: {stage['height']} px high")  # not a picture
        return found

    assert until_none(misfits) == [], screen
    snap(page, artifacts, f"replay-{screen}")
    page.context.close()


def test_keys_work_from_the_start_and_a_frame_without_a_picture_shows_only_its_card(
    browser, classroom, artifacts
):
    url, _, stories = classroom
    page = open_page(
        browser, f"{url}/story?story={stories['drawn']}", CLASSROOM_SCREENS["laptop-1366x768"]
    )
    replay = replay_ready(page)
    assert page.evaluate("document.activeElement === document.body")  # nothing clicked yet
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert replay_index(replay) == str(BLOCKED)
    card = replay.evaluate(
        """() => ({
            picture: getComputedStyle(document.getElementById('picture')).display,
            card: getComputedStyle(document.getElementById('card')).display,
            text: document.getElementById('card-text').textContent,
            label: document.querySelector('#card small').textContent,
        })"""
    )
    assert card == {
        "picture": "none",  # the previous picture does not stay beside the card
        "card": "block",
        "text": SENTENCES[BLOCKED],
        "label": "Imagine this picture!",
    }
    snap(page, artifacts, "replay-card")

    page.keyboard.press(" ")
    replay.wait_for_function("!document.getElementById('audio').paused")
    assert "Pause" in replay.locator("#play").inner_text()
    page.keyboard.press(" ")
    replay.wait_for_function("document.getElementById('audio').paused")
    page.keyboard.press("ArrowLeft")
    assert replay_index(replay) == str(BLOCKED - 1)
    assert replay.evaluate("getComputedStyle(document.getElementById('card')).display") == "none"
    page.context.close()


def test_full_screen_shows_the_picture_and_a_large_caption(browser, classroom, artifacts):
    url, _, stories = classroom
    page = open_page(
        browser, f"{url}/story?story={stories['drawn']}", CLASSROOM_SCREENS["projector-1280x720"]
    )
    replay = replay_ready(page)
    replay.locator("#full").click()
    replay.wait_for_function("document.fullscreenElement === document.getElementById('replay')")

    def small_or_off_screen() -> list[str]:
        parts = ("#stage", "#sentence", "#prev", "#play", "#next")
        found = [p for p in parts if not on_screen(page, replay.locator(p).bounding_box())]
        caption = replay.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('sentence')).fontSize)"
        )
        if caption < 36:
            found.append(f"a {caption} px caption")
        if replay.locator("#stage").bounding_box()["height"] < 0.75 * 720:
            found.append("a small stage")
        return found

    assert until_none(small_or_off_screen) == []
    snap(page, artifacts, "replay-full-screen")
    replay.locator("#full").click()
    replay.wait_for_function("document.fullscreenElement === null")
    page.context.close()


# --- 2 and 5. a teacher fixes a story, in a teacher mode that lasts the lesson -----------------
def test_teacher_fixes_a_frame_stopped_by_the_word_list_after_a_reload(
    browser, classroom, artifacts
):
    url, library, stories = classroom
    story_id = stories["to fix"]
    page = open_page(browser, f"{url}/story?story={story_id}", CLASSROOM_SCREENS["laptop-1366x768"])
    unlock_in_sidebar(page)
    page.reload()  # teacher mode survives: the server's session cookie
    idle(page)
    expect(page.get_by_text("Teacher mode is on.")).to_be_visible()

    fix = page.get_by_test_id("stExpander").filter(has_text="Fix this picture").nth(BLOCKED)
    fix.get_by_text("Fix this picture").click()
    fix.get_by_label("Picture prompt").fill("A fox with a red paw walking home.")
    fix.get_by_role("button", name="Use this prompt").click()
    # The new prompt is clean, but the sentence still holds the word: said, with where it is.
    said = fix.get_by_text(re.compile(r"word list: “blood” in the sentence"))
    expect(said).to_be_visible()
    snap(page, artifacts, "fix-word-list-said")

    fix.get_by_label("Sentence", exact=True).fill(FIXED)
    fix.get_by_role("button", name="Save and redraw").click()
    expect(
        page.get_by_text(
            f"The sentence of picture {BLOCKED + 1} is saved. Its picture is being drawn again."
        )
    ).to_be_visible()
    eventually(
        lambda: library.get_story(story_id).frames[BLOCKED].status == "done", 60, "the redraw"
    )
    frame = library.get_story(story_id).frames[BLOCKED]
    assert frame.text == FIXED
    page.reload()  # what anyone opening the story now sees
    idle(page)
    replay = replay_ready(page)
    replay.evaluate(f"document.getElementById('audio').currentTime = {frame.start + 0.5}")
    replay.wait_for_function(f"document.getElementById('replay').dataset.index === '{BLOCKED}'")
    shown = "[!document.getElementById('picture').hidden, $('sentence').textContent]"
    assert replay.evaluate(shown.replace("$(", "document.getElementById(")) == [True, FIXED]
    snap(page, artifacts, "fix-redrawn")

    page.get_by_role("button", name="Lock (back to student view)").click()
    idle(page)
    page.reload()
    idle(page)
    expect(page.get_by_text("Teacher mode is on.")).to_have_count(0)
    expect(page.get_by_text("Fix this picture")).to_have_count(0)
    page.context.close()


def test_a_reloaded_draft_returns_to_its_sentences_and_they_leave_when_drawing_starts(
    browser, classroom, artifacts
):
    url, library, stories = classroom
    page = open_page(
        browser, f"{url}/story?story={stories['draft']}", CLASSROOM_SCREENS["laptop-1366x768"]
    )
    unlock_in_sidebar(page)
    page.get_by_role("button", name="Check the sentences").click()
    expect(page.get_by_label("Sentence 1", exact=True)).to_have_value(SENTENCES[0])
    page.reload()
    idle(page)
    expect(page.get_by_label("Sentence 1", exact=True)).to_have_value(SENTENCES[0])
    page.get_by_label("Sentence 3", exact=True).fill(FIXED)
    page.get_by_label("Sentence 3", exact=True).press("Control+Enter")
    idle(page)

    page.get_by_role("button", name="Generate storyboard").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Sentence \d+$"))).to_have_count(0)  # no faded editors
    snap(page, artifacts, "drawing")
    eventually(
        lambda: {f.status for f in library.get_story(stories["draft"]).frames} == {"done"},
        120,
        "every picture",
    )
    expect(page.get_by_test_id("stProgress")).to_have_count(0)  # the finished storyboard
    expect(page.get_by_role("button", name=re.compile("Draw the missing pictures"))).to_have_count(
        0
    )
    page.context.close()


# --- 3. errors in plain sight ------------------------------------------------------------------
def test_a_photo_given_as_narration_is_refused_in_plain_words(browser, classroom, artifacts):
    url, _, _ = classroom
    page = open_page(browser, f"{url}/library", CLASSROOM_SCREENS["laptop-1366x768"])
    unlock_in_sidebar(page)  # Home has its own passcode box: the sidebar has none there
    page.get_by_test_id("stSidebar").get_by_role("link", name="Home").click()
    page.get_by_role("button", name="Start a storytelling session").click()
    page.get_by_label("Title", exact=True).fill("My holiday")
    page.get_by_text("Upload a file").click()
    photo = io.BytesIO()
    Image.new("RGB", (320, 240), "orange").save(photo, format="JPEG")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        {"name": "story.wav", "mimeType": "audio/wav", "buffer": photo.getvalue()}
    )
    idle(page)
    page.get_by_role("button", name="Transcribe the narration").click()
    message = page.get_by_text(re.compile("This file is not audio: it is a picture"))
    expect(message).to_be_visible(timeout=240_000)  # the first transcription loads Whisper
    assert "png" not in message.inner_text().lower() and "pipe" not in message.inner_text()
    message.scroll_into_view_if_needed()
    snap(page, artifacts, "refused-photo")
    page.context.close()


# --- 4. students -------------------------------------------------------------------------------
def test_students_see_pictures_and_sentences_without_the_machinery(browser, classroom, artifacts):
    url, _, stories = classroom
    page = open_page(browser, f"{url}/story?story={stories['drawn']}", TABLET)
    replay_ready(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Imagine this picture!")).to_be_visible()
    text = main.inner_text()
    for machinery in ("Done", "Filtered", "word list", "0:03.0", "of 4 pictures", "Fix this"):
        assert machinery not in text, machinery
    page.get_by_test_id("stMain").evaluate("e => e.scrollTo(0, e.scrollHeight)")
    snap(page, artifacts, "student-storyboard-tablet")

    page.goto(url)
    idle(page)
    home = page.get_by_test_id("stMain").inner_text()
    for machinery in ("Whisper", "CPU", "NVIDIA", "faster-whisper"):
        assert machinery not in home, machinery
    snap(page, artifacts, "student-home-tablet")
    page.context.close()


# --- 5 and 6. phones and tablets ---------------------------------------------------------------
@pytest.mark.parametrize("size", [TABLET, PHONE], ids=["tablet", "phone"])
def test_the_way_back_to_the_library_is_on_screen_and_clickable(browser, classroom, size):
    url, _, stories = classroom
    page = open_page(browser, f"{url}/story?story={stories['drawn']}", size)
    back = page.get_by_role("link", name="Back to the library")
    assert until_none(lambda: link_problems(page, back)) == []
    back.click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    # The replay is gone, and so are its keys: the arrows scroll the library again, no errors.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    taken = page.evaluate(
        """() => { const e = new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true,
                                                           cancelable: true});
                   document.body.dispatchEvent(e); return e.defaultPrevented; }"""
    )
    page.wait_for_timeout(300)
    assert taken is False and errors == []
    page.context.close()


def sidebar_open(page: Page) -> bool:
    return page.get_by_test_id("stSidebar").evaluate("e => e.getBoundingClientRect().right > 5")


def test_on_a_phone_the_passcode_is_on_the_page_and_the_sidebar_closes_after_a_link(
    browser, classroom, artifacts
):
    url, _, _ = classroom
    page = open_page(browser, url, PHONE, is_mobile=True, has_touch=True)
    assert not sidebar_open(page)
    page.get_by_text("Teacher? Unlock teacher mode").click()
    page.get_by_test_id("stMain").get_by_label("Teacher passcode").fill(PASSCODE)
    page.get_by_test_id("stMain").get_by_role("button", name="Unlock teacher mode").click()
    expect(page.get_by_text("Teacher mode.", exact=False).first).to_be_visible()
    idle(page)
    snap(page, artifacts, "phone-home-teacher")

    page.get_by_test_id("stExpandSidebarButton").click()
    eventually(lambda: sidebar_open(page), 30, "the sidebar to open")  # it slides in
    page.get_by_test_id("stSidebar").get_by_role("link", name="Library").click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    eventually(lambda: not sidebar_open(page), 30, "the sidebar to close after the link")
    snap(page, artifacts, "phone-library")
    page.context.close()
