"""Every page offline and accessible, in student and teacher view, at a laptop's 1366x768 and a
phone's 390x844: nothing is fetched from outside the app's own address (every request the browser
makes is recorded), and axe-core finds no critical or serious violation in the page or in any of
its frames (the replay, the recorder). Screenshots go to test-artifacts/e2e/a11y-*.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Browser, Page, expect

from s2i_core.audio import wav_bytes
from s2i_core.settings import Settings
from s2i_core.storage import Library, picture_readable
from s2i_core.story.scenes import set_frame_scene
from tests.e2e.app_server import app_server, stand_in
from tests.e2e.conftest import CHROMIUM
from tests.e2e.test_browser import eventually, idle, replay_frame
from tests.e2e.test_classroom import SENTENCES, seed_story, until_none
from tests.nvidia_stub import NvidiaStub

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSCODE = "green-otter-3"
SIZES = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
SERIOUS = ("critical", "serious")


@pytest.fixture(scope="module")
def school(tmp_path_factory, artifacts) -> Iterator[tuple[str, dict[str, int], Path]]:
    data_dir = tmp_path_factory.mktemp("a11y")
    with Library(Settings(data_dir=data_dir)) as library:
        stories = {
            "drawn": seed_story(library, "The fox and the balloon", pictures=True),
            "draft": seed_story(library, "A draft about the fox", pictures=False),
            "damaged": seed_story(library, "The fox and the broken files", pictures=True),
            "empty": library.create_story("Nothing heard yet", class_name="Year 2 Robins").id,
        }
        damage(library, stories["damaged"])
        first = library.get_story(stories["drawn"]).frames[0]
        set_frame_scene(library, stories["drawn"], first.id, first.text_en, SCENE)
    with NvidiaStub(latency=0.2) as stub:
        env = {"S2I_DATA_DIR": str(data_dir), "S2I_TEACHER_PASSCODE": PASSCODE, **stand_in(stub)}
        with app_server(env, artifacts / "a11y-streamlit.log") as url:
            yield url, stories, data_dir


SCENE = "A small red fox holds a red balloon among snowy pine trees."  # picture 1's scene
DAMAGED = 1  # the second picture of "damaged" is cut short; its narration is a broken link


def damage(library: Library, story_id: int) -> None:
    story = library.get_story(story_id)
    for rel in (story.frames[DAMAGED].image_path, story.frames[DAMAGED].thumb_path):
        path = library.path(rel)
        path.write_bytes(path.read_bytes()[:400])  # "image file is truncated"
    narration = library.path(story.narration_path)
    narration.unlink()
    narration.symlink_to("/nonexistent/narration.wav")  # points outside the data folder


def drawn(page: Page) -> None:
    """Every element drawn for real: a loaded machine still shows some as grey placeholders
    (Streamlit's skeletons) after the run ended, and axe would judge those."""
    page.wait_for_function(
        "!document.querySelector('[data-testid=stSkeleton], [data-testid=stSkeletonElement]')"
    )
    page.wait_for_timeout(500)


def axe_violations(page: Page) -> list[str]:
    """Critical and serious axe-core violations in the page and in each of its frames."""
    found = []
    for frame in page.frames:
        if frame.is_detached() or not frame.evaluate("Boolean(document.body)"):
            continue
        frame.evaluate(AXE_SCRIPT)
        results = frame.evaluate("axe.run(document, {resultTypes: ['violations'], iframes: false})")
        for violation in results["violations"]:
            if violation["impact"] in SERIOUS:
                targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
                found.append(
                    f"{violation['id']} ({violation['impact']}): {violation['help']} "
                    f"in {frame.name or frame.url[:40]}: {targets[:4]}"
                )
    return found


def outside_requests(page: Page, url: str) -> list[str]:
    own = urlsplit(url).netloc
    requests: list[str] = []

    def record(request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != own:
            requests.append(request.url)

    page.on("request", record)
    page.on("websocket", lambda socket: record(type("R", (), {"url": socket.url})()))
    return requests


PAGES = {
    "home": "",
    "library": "/library",
    "story": "/story?story={drawn}",
    "story-damaged-files": "/story?story={damaged}",
    "create": "/create",
    "word-list": "/word_list",
}


def unlock(page: Page) -> None:
    """Teacher mode through the sidebar's passcode box (opened first on a phone, closed after)."""
    sidebar = page.get_by_test_id("stSidebar")
    phone = page.viewport_size["width"] < 700
    if phone:
        page.get_by_test_id("stExpandSidebarButton").click()
    sidebar.get_by_label("Teacher passcode").fill(PASSCODE)
    sidebar.get_by_role("button", name="Unlock teacher mode").click()
    expect(page.get_by_text("Teacher mode is on.")).to_be_visible()
    idle(page)
    if phone:
        sidebar.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        eventually(
            lambda: sidebar.evaluate("e => e.getBoundingClientRect().right < 5"), 30, "closing"
        )


@pytest.mark.parametrize("role", ["student", "teacher"])
@pytest.mark.parametrize("size", SIZES)
def test_every_page_is_offline_and_accessible(browser, school, artifacts, size, role):
    url, stories, _ = school
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.set_default_timeout(60_000)
    outside = outside_requests(page, url)
    page.goto(f"{url}/library")  # a page whose passcode box is the sidebar's
    idle(page)
    if role == "teacher":
        unlock(page)
    report = {}
    for name, path in PAGES.items():
        page.goto(url + path.format(**stories))
        idle(page)
        if name.startswith("story"):
            replay_frame(page).wait_for_function(  # the first picture shown (or its card)
                "document.getElementById('replay').dataset.index === '0'"
                " && document.getElementById('picture').complete"
            )
        drawn(page)
        page.screenshot(path=artifacts / f"a11y-{name}-{role}-{size}.png")
        report[name] = axe_violations(page)
    (artifacts / f"a11y-{role}-{size}.json").write_text(json.dumps(report, indent=2))
    context.close()
    assert outside == []
    assert {name: found for name, found in report.items() if found} == {}


def open_page(browser, url: str, size: str = "laptop", **context) -> Page:
    page = browser.new_context(viewport=SIZES[size], **context).new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    idle(page)
    return page


def no_error_shown(page: Page) -> None:
    """No traceback, exception type or server path anywhere on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    text = page.get_by_test_id("stMain").inner_text()
    for leak in ("Traceback", "OSError", "StorageError", "truncated", "/tmp/", "/nonexistent"):
        assert leak not in text, leak


# --- 3. the replay by keyboard and for screen readers ------------------------------------------
def test_the_replay_works_from_the_keyboard_and_tells_screen_readers_what_it_shows(
    browser, school, artifacts
):
    url, stories, _ = school
    page = open_page(browser, f"{url}/story?story={stories['drawn']}")
    replay = replay_frame(page)
    replay.wait_for_function("document.getElementById('picture').complete")
    sentence = replay.locator("#sentence")
    assert sentence.get_attribute("aria-live") == "polite"  # read out as each sentence comes
    expect(sentence).to_have_text(SENTENCES[0])
    assert replay.locator("#picture").get_attribute("alt") == SCENE  # what the picture shows
    assert replay.evaluate("document.title") == "Read-along: The fox and the balloon"

    def focused() -> str:
        return replay.evaluate("document.activeElement ? document.activeElement.id : ''")

    for _ in range(60):  # Tab through the page, as a keyboard user does, to the replay's Next
        page.keyboard.press("Tab")
        if focused() == "next":
            break
    assert focused() == "next"
    outline = replay.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus can be seen
    page.keyboard.press("Enter")
    expect(sentence).to_have_text(SENTENCES[1])
    assert replay.locator("#picture").get_attribute("alt") == SENTENCES[1]  # no scene: its line
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused() == "prev"
    page.keyboard.press("Enter")
    expect(sentence).to_have_text(SENTENCES[0])
    page.screenshot(path=artifacts / "a11y-replay-keyboard.png")
    page.context.close()


# --- 2. damaged or missing media ---------------------------------------------------------------
def test_a_damaged_picture_and_a_broken_narration_leave_the_story_playable(
    browser, school, artifacts
):
    url, stories, _ = school
    page = open_page(browser, f"{url}/story?story={stories['damaged']}")
    replay = replay_frame(page)
    replay.wait_for_function("document.getElementById('picture').complete")
    no_error_shown(page)
    assert replay.evaluate("document.getElementById('audio').hidden")  # no sound, no error
    page.keyboard.press("ArrowRight")
    replay.wait_for_function(f"document.getElementById('replay').dataset.index === '{DAMAGED}'")
    shown = replay.evaluate(
        "[document.getElementById('picture').hidden, document.getElementById('card-text')"
        ".textContent]"
    )
    assert shown == [True, SENTENCES[DAMAGED]]
    page.keyboard.press("ArrowRight")  # the rest of the story plays on (3: the word list's card)
    page.keyboard.press("ArrowRight")
    replay.wait_for_function(
        f"document.getElementById('replay').dataset.index === '{DAMAGED + 2}'"
        " && !document.getElementById('picture').hidden"
    )
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(SENTENCES[DAMAGED], exact=True)).to_be_visible()  # its card
    expect(main.get_by_text("damaged")).to_have_count(0)  # students see no machinery
    page.screenshot(path=artifacts / "a11y-damaged-student.png")

    page.goto(f"{url}/library")
    idle(page)
    no_error_shown(page)
    page.context.close()


def test_the_teacher_sees_which_file_is_damaged_and_draws_it_again(browser, school, artifacts):
    url, stories, data_dir = school
    page = open_page(browser, f"{url}/story?story={stories['damaged']}")
    unlock(page)
    notice = page.get_by_test_id("stMain").locator(".st-key-damaged_files")
    expect(notice).to_contain_text("picture 2")
    expect(notice).to_contain_text("the narration")
    no_error_shown(page)
    notice.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "a11y-damaged-teacher.png")
    notice.get_by_role("button", name="Draw 1 damaged picture again").click()
    with Library(Settings(data_dir=data_dir)) as library:

        def redrawn() -> bool:
            frame = library.get_story(stories["damaged"]).frames[DAMAGED]
            return frame.status == "done" and picture_readable(library.path(frame.image_path))

        eventually(redrawn, 120, "the damaged picture to be drawn again")
    page.reload()
    idle(page)
    notice = page.get_by_test_id("stMain").locator(".st-key-damaged_files")
    expect(notice).not_to_contain_text("picture 2")
    expect(notice).to_contain_text("the narration")  # a recording cannot be drawn again
    page.context.close()


# --- 4. links last -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "heading"),
    [
        ("/Story?story={drawn}", "/story?story={drawn}", "The fox and the balloon"),
        ("/Library", "/library", "Library"),
        ("/Create_a_story", "/create", "Create a story"),
        ("/Home", "/", "Speech to Storyboard"),
    ],
)
def test_addresses_the_app_used_before_open_the_same_place(browser, school, old, new, heading):
    url, stories, _ = school
    page = open_page(browser, url + old.format(**stories))
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    eventually(lambda: page.url == url + new.format(**stories), 30, f"the address {new}")
    page.context.close()


# --- 7. recording feedback ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def silent_microphone(browser, tmp_path_factory) -> Iterator[Browser]:
    """A second Chromium whose fake microphone hears nothing."""
    silence = tmp_path_factory.mktemp("silence") / "silence.wav"
    silence.write_bytes(wav_bytes(np.zeros(16000 * 30, dtype=np.float32)))
    quiet = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={silence}",
        ],
    )
    yield quiet
    quiet.close()


def create_page(browser: Browser, url: str, size: str) -> Page:
    page = open_page(browser, f"{url}/create", size, permissions=["microphone"])
    main = page.get_by_test_id("stMain")
    main.get_by_label("Teacher passcode").fill(PASSCODE)  # the page's own box, the only one
    main.get_by_role("button", name="Unlock teacher mode").click()
    expect(page.get_by_label("Title", exact=True)).to_be_visible()
    idle(page)
    return page


@pytest.mark.parametrize("size", SIZES)
def test_recording_shows_its_time_and_level_and_clears_old_errors(browser, school, artifacts, size):
    url, _, _ = school
    page = create_page(browser, url, size)
    page.get_by_role("button", name="Transcribe the narration").click()
    stale = page.get_by_text("Give the story a title.")
    expect(stale).to_be_visible()
    page.get_by_role("button", name="Start recording").click()
    expect(stale).to_have_count(0)  # gone the moment recording starts
    expect(page.locator(".rec-time")).to_have_text(re.compile(r"0:0[3-9]"))  # it runs
    eventually(
        lambda: int(page.locator(".rec-meter").get_attribute("aria-valuenow")) > 5,
        30,
        "the level meter to move with the speech",
    )
    assert page.locator(".rec-level").evaluate("e => e.getBoundingClientRect().width") > 5
    expect(page.locator(".rec-warning")).to_be_hidden()
    page.get_by_role("button", name="Stop recording").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"a11y-recording-{size}.png")
    page.get_by_role("button", name="Stop recording").click()
    expect(page.get_by_text(re.compile(r"recording\.webm · \d+ KB"))).to_be_visible()
    expect(page.get_by_test_id("stAudio")).to_be_visible()
    page.context.close()


def test_a_silent_microphone_is_pointed_out_after_five_seconds(
    silent_microphone, school, artifacts
):
    url, _, _ = school
    page = create_page(silent_microphone, url, "laptop")
    page.get_by_role("button", name="Start recording").click()
    warning = page.locator(".rec-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("No sound for 5 seconds")
    seconds = page.locator(".rec-time").text_content()
    assert int(seconds.split(":")[1]) >= 5, seconds  # not before five seconds of silence
    assert page.locator(".rec-meter").get_attribute("aria-valuenow") == "0"
    warning.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "a11y-recording-silent.png")
    page.get_by_role("button", name="Stop recording").click()
    expect(warning).to_be_hidden()
    page.context.close()


# --- 8. full screen on a phone -----------------------------------------------------------------
def test_full_screen_on_a_phone_fills_the_screen_with_picture_and_caption(
    browser, school, artifacts
):
    url, stories, _ = school
    page = open_page(
        browser, f"{url}/story?story={stories['drawn']}", "phone", is_mobile=True, has_touch=True
    )
    replay = replay_frame(page)
    replay.wait_for_function("document.getElementById('picture').complete")
    before = caption_px(replay)
    replay.locator("#full").click()
    replay.wait_for_function("document.fullscreenElement === document.getElementById('replay')")

    def badly_used() -> list[str]:
        width, height = SIZES["phone"]["width"], SIZES["phone"]["height"]
        stage = replay.locator("#stage").bounding_box()
        parts = [replay.locator(p).bounding_box() for p in ("#stage", "#sentence", ".bar")]
        found = []
        if stage["width"] < width - 30:
            found.append(f"the picture is {stage['width']} px wide on a {width} px screen")
        top, bottom = parts[0]["y"], max(p["y"] + p["height"] for p in parts)
        if top < 0 or bottom > height:
            found.append(f"something is off screen ({top}..{bottom})")
        if bottom - top < 0.9 * height:
            found.append(f"only {bottom - top:.0f} of {height} px used")
        if caption_px(replay) < max(28, before + 4):
            found.append(f"a {caption_px(replay)} px caption (it was {before} px)")
        return found

    assert until_none(badly_used) == []
    page.screenshot(path=artifacts / "a11y-full-screen-phone.png")
    page.keyboard.press("ArrowRight")  # a longer or shorter sentence gets its own size
    replay.wait_for_function("document.getElementById('replay').dataset.index === '1'")
    assert until_none(badly_used) == []
    page.context.close()


def caption_px(replay) -> float:
    return replay.evaluate(
        "parseFloat(getComputedStyle(document.getElementById('sentence')).fontSize)"
    )
