"""The whole classroom flow in a real browser.

``streamlit run s2i_ui/server.py`` on 127.0.0.1 with a temporary library, a teacher passcode, and
the local NVIDIA stand-in server for pictures; Debian's Chromium (headless) with its fake microphone
playing tests/e2e/speech.wav. A teacher unlocks, records through the real recorder widget,
transcribes, edits a sentence and generates the storyboard; a student then finds the story,
replays it, seeks the audio and downloads the PDF. Each step leaves a screenshot in
test-artifacts/e2e/.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest
from playwright.sync_api import Frame, Page, expect
from pypdf import PdfReader

from s2i_core.pictures.images import thumbnail
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from tests.e2e.app_server import app_server, stand_in
from tests.nvidia_stub import NvidiaStub, draw_picture
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSCODE = "blue-heron-7"
TITLE = "The fox and the balloon"
EDITED = "The little fox found a big blue balloon."
RECORD_SECONDS = 12  # speech.wav: about 12 s of speech, then silence
STEP_TIMEOUT_MS = 60_000
# Deadlock guards, not speed limits: each export job takes seconds even on a loaded 2-core
# machine (the 14 s video: 6-8 s at load 6-8); a guard is hit only when the page never offers
# the file, so a CI machine, however slow, fails only on a real hang.
EXPORT_GUARD_MS = 300_000
TRANSCRIBE_TIMEOUT_MS = 240_000  # the first transcription also loads Whisper
DESKTOP = {"width": 1280, "height": 1000}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="module")
def stub() -> Iterator[NvidiaStub]:
    with NvidiaStub(latency=0.5) as stub:
        yield stub


EARLIER_STORIES = {  # already in the class library when the test starts
    "Our trip to the farm": ["We saw three pink pigs.", "A cow said moo very loudly."],
    "The snowman who wanted summer": ["Sam the snowman dreamed of the beach."],
    "El zorro y la luna": ["El zorro miró la luna.", "La luna sonrió."],
}


def seed_earlier_stories(data_dir: Path) -> None:
    with Library(Settings(data_dir=data_dir)) as library:
        for title, sentences in EARLIER_STORIES.items():
            story = library.create_story(
                title=title,
                class_name="Year 1 Wrens",
                language="es" if title.startswith("El") else "en",
            )
            frames = library.set_frames(
                story.id,
                [
                    FrameDraft(i, 3.0 * i, 3.0 * i + 3, text, text, prompt=text)
                    for i, text in enumerate(sentences)
                ],
            )
            for frame in frames:
                picture = draw_picture(frame.prompt, 512, 512)
                library.save_frame_result(
                    frame.id, "done", image=picture, thumbnail=thumbnail(picture)
                )
            library.refresh_story_status(story.id)


@pytest.fixture(scope="module")
def app(tmp_path_factory, stub, artifacts) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("library")
    seed_earlier_stories(data_dir)
    env = {"S2I_DATA_DIR": str(data_dir), "S2I_TEACHER_PASSCODE": PASSCODE, **stand_in(stub)}
    with app_server(env, artifacts / "streamlit.log") as url:
        yield url, data_dir


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    wait_for(check, what, timeout, every=0.25)


def idle(page: Page) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)  # a click's rerun may not have started yet
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def shot(page: Page, artifacts: Path, name: str) -> None:
    """Screenshot of the whole page: Streamlit scrolls inside its own container, so the window
    is made as tall as the content for the shot."""
    idle(page)
    page.wait_for_function("[...document.images].every(i => i.complete)")
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stAppViewContainer]')].map(e => e.scrollHeight),"
        " window.innerHeight)"
    )
    page.set_viewport_size({"width": size["width"], "height": min(height, 4000)})
    page.wait_for_timeout(500)
    page.screenshot(path=artifacts / f"{name}.png")
    page.set_viewport_size(size)


def shown_text(page: Page, text: str):
    """A paragraph that reads exactly ``text`` (not the teacher's edit box holding the same)."""
    return page.locator("p").filter(has_text=re.compile(f"^{re.escape(text)}$"))


def replay_frame(page: Page) -> Frame:
    """The srcdoc iframe holding the read-along replay."""

    def replay() -> Frame | None:
        frames = (f for f in page.frames if f != page.main_frame)
        return next((f for f in frames if f.locator("#replay").count()), None)

    def pause(seconds: float) -> None:
        page.wait_for_timeout(seconds * 1000)  # the page goes on handling its events

    return wait_for(replay, "the replay", STEP_TIMEOUT_MS / 1000, 0.25, pause=pause)


def replay_state(frame: Frame) -> dict:
    return frame.evaluate(
        """() => ({
            index: document.getElementById('replay').dataset.index,
            sentence: document.getElementById('sentence').textContent,
            picture: document.getElementById('picture').getAttribute('src'),
            alt: document.getElementById('picture').alt,
        })"""
    )


def no_sideways_scroll(page: Page) -> bool:
    """Neither the page nor Streamlit's main area scrolls sideways."""
    return page.evaluate(
        """() => [document.documentElement, document.body, ...document.querySelectorAll(
                     '[data-testid=stMain], [data-testid=stAppViewContainer]')]
                 .every(e => e.scrollWidth <= e.clientWidth + 1)"""
    )


def test_teacher_records_and_student_replays(browser, app, artifacts):
    url, data_dir = app
    library = Library(Settings(data_dir=data_dir))

    # --- teacher: unlock -----------------------------------------------------------------------
    teacher = browser.new_context(viewport=DESKTOP, permissions=["microphone"])
    page = teacher.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(url)
    idle(page)
    expect(page.get_by_text("Student view").first).to_be_visible()
    shot(page, artifacts, "01-home-student-view")
    page.get_by_text("Teacher? Unlock teacher mode").click()  # Home's one passcode box
    box = page.get_by_test_id("stMain")
    box.get_by_label("Teacher passcode").fill("wrong guess")
    box.get_by_role("button", name="Unlock teacher mode").click()
    expect(page.get_by_text("That passcode is not right")).to_be_visible()
    box.get_by_label("Teacher passcode").fill(PASSCODE)
    box.get_by_role("button", name="Unlock teacher mode").click()
    expect(page.get_by_text("Teacher mode is on.")).to_be_visible()
    shot(page, artifacts, "02-home-teacher")

    # --- teacher: record through the real streamlit-mic-recorder widget --------------------------
    page.get_by_role("button", name="Start a storytelling session").click()
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Class", exact=True).fill("Year 2 Robins")
    page.get_by_label("Class", exact=True).press("Tab")
    idle(page)
    page.get_by_role("button", name="Start recording").click()
    page.wait_for_timeout(RECORD_SECONDS * 1000)
    page.get_by_role("button", name="Stop recording").click()
    expect(page.get_by_text("recording.webm")).to_be_visible()
    expect(page.get_by_test_id("stAudio")).to_be_visible()
    shot(page, artifacts, "03-recorded")

    # --- teacher: transcribe, then edit one sentence --------------------------------------------
    page.get_by_role("button", name="Transcribe the narration").click()
    expect(page.get_by_text("3 · Check the sentences")).to_be_visible(timeout=TRANSCRIBE_TIMEOUT_MS)
    [summary] = library.list_stories(query=TITLE)
    assert (summary.title, summary.class_name, summary.status) == (TITLE, "Year 2 Robins", "draft")
    heard = [f.text for f in library.get_story(summary.id).frames]
    assert len(heard) >= 2 and "balloon" in " ".join(heard).lower(), heard
    shot(page, artifacts, "04-sentences")

    first = page.get_by_label("Sentence 1", exact=True)
    first.fill(EDITED)
    first.press("Control+Enter")
    eventually(
        lambda: library.get_story(summary.id).frames[0].text == EDITED,
        60,
        "the edited sentence to be saved",
    )
    idle(page)

    # --- teacher: generate against the NVIDIA stand-in ------------------------------------------
    page.get_by_role("button", name="Generate storyboard").click()
    eventually(
        lambda: all(f.status == "done" for f in library.get_story(summary.id).frames),
        120,
        "every frame to get its picture",
    )
    expect(page.get_by_test_id("stProgress")).to_have_count(0)  # the finished storyboard
    idle(page)  # the page's own run once the workers finished: the grid with its controls
    expect(page.get_by_text(re.compile(r"^\d+ · [\d:.–]+ · check_circle Done$"))).to_have_count(
        len(heard)
    )
    expect(shown_text(page, EDITED)).to_be_visible()
    shot(page, artifacts, "05-storyboard")

    page.get_by_role("link", name="Library").click()
    expect(page.get_by_text(TITLE)).to_be_visible()
    idle(page)
    shot(page, artifacts, "06-library-teacher")
    teacher.close()

    # --- student: library and replay on a tablet ------------------------------------------------
    student = browser.new_context(viewport=TABLET, accept_downloads=True)
    page = student.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(f"{url}/library")
    expect(page.get_by_text(f"{len(EARLIER_STORIES) + 1} stories")).to_be_visible()
    expect(page.get_by_role("link", name="Create a story")).to_have_count(0)
    page.get_by_label("Search titles and sentences").fill("balloon river")
    page.get_by_label("Search titles and sentences").press("Enter")
    expect(page.get_by_text("1 story", exact=True)).to_be_visible()
    expect(page.get_by_text(TITLE)).to_be_visible()
    idle(page)
    assert no_sideways_scroll(page)
    shot(page, artifacts, "07-library-student-tablet")

    page.get_by_role("button", name="Open story").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_text("Teacher tools")).to_have_count(0)
    replay = replay_frame(page)
    replay.wait_for_function("document.getElementById('audio').readyState >= 1")
    before = replay_state(replay)
    assert before["index"] == "0" and before["sentence"] == EDITED and before["alt"] == EDITED
    idle(page)
    assert no_sideways_scroll(page)
    shot(page, artifacts, "08-replay-first-sentence")

    story = library.get_story(summary.id)
    second = story.frames[1]
    replay.evaluate(f"document.getElementById('audio').currentTime = {second.start + 0.3}")
    replay.wait_for_function("document.getElementById('replay').dataset.index === '1'")
    after = replay_state(replay)
    assert after["sentence"] == second.text and after["alt"] == second.text
    assert after["picture"] != before["picture"]
    # Pictures and narration came by link from the app's own route, not inside the page
    loaded = replay.evaluate(
        "() => [document.getElementById('picture').currentSrc,"
        " document.getElementById('audio').currentSrc,"
        " document.getElementById('picture').naturalWidth]"
    )
    assert all("/app/static/s2i/media/" in source for source in loaded[:2]) and loaded[2] > 0
    shot(page, artifacts, "09-replay-after-seek")

    # --- student: the PDF, made by the app's worker once the story was finished ------------------
    expect(page.get_by_role("button", name="Make the PDF")).to_have_count(0)  # only downloads
    with page.expect_download(timeout=EXPORT_GUARD_MS) as download:
        page.get_by_role("button", name="Download PDF").click(timeout=EXPORT_GUARD_MS)
    assert download.value.suggested_filename == f"{TITLE}.pdf"  # named from the title
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    for frame in story.frames:
        assert " ".join(frame.text.split()) in text, frame.text
    (artifacts / "storyboard.pdf").write_bytes(pdf)

    # --- student: the narrated video, made the same way -----------------------------------------
    with page.expect_download(timeout=EXPORT_GUARD_MS) as download:
        page.get_by_role("button", name="Download video (MP4)").click(timeout=EXPORT_GUARD_MS)
    video = Path(download.value.path())
    with av.open(str(library.path(story.narration_path))) as narration, av.open(str(video)) as mp4:
        assert abs(mp4.duration - narration.duration) / 1e6 <= 0.1
    assert download.value.suggested_filename == f"{TITLE}.mp4"
    student.close()
    library.close()


# --- hostile text ----------------------------------------------------------------------------
HOSTILE_TITLE = 'The fox <img src=x onerror="window.__pwned = 1"> & <b>friends</b>'
HOSTILE_CLASS = "<script>window.__pwned = 2</script>Year 3"
HOSTILE_CHARACTERS = '<svg onload="window.__pwned = 3"></svg> a red fox'
HOSTILE_CAPTIONS = [
    "</script><script>window.__pwned = 4</script> The fox ran.",
    '<iframe src="javascript:window.parent.__pwned = 5"></iframe> [a link](javascript:alert(6))',
]


def nothing_ran(page: Page, dialogs: list[str]) -> None:
    """No injected script ran in the page or any of its frames, and no injected element exists."""
    assert dialogs == []
    for frame in page.frames:
        assert frame.evaluate("() => window.__pwned === undefined"), frame.url
        assert frame.locator("img[src='x'], svg[onload], iframe[src^='javascript']").count() == 0
        assert frame.locator("a[href^='javascript']").count() == 0


def test_text_from_users_stays_text_in_every_page(browser, app, artifacts):
    url, data_dir = app
    library = Library(Settings(data_dir=data_dir))
    story = library.create_story(
        HOSTILE_TITLE, class_name=HOSTILE_CLASS, characters=HOSTILE_CHARACTERS, language="en"
    )
    try:
        drafts = [
            FrameDraft(i, 3.0 * i, 3.0 * i + 3, text, text, prompt=f"{HOSTILE_CHARACTERS}. {text}")
            for i, text in enumerate(HOSTILE_CAPTIONS)
        ]
        for frame in library.set_frames(story.id, drafts):
            picture = draw_picture(frame.prompt, 256, 256)
            library.save_frame_result(frame.id, "done", image=picture, thumbnail=thumbnail(picture))
        library.refresh_story_status(story.id)

        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        page.goto(f"{url}/library")
        expect(page.get_by_text(HOSTILE_TITLE, exact=True)).to_be_visible()
        expect(page.get_by_text(re.compile(re.escape(HOSTILE_CLASS)))).to_be_visible()
        idle(page)
        nothing_ran(page, dialogs)

        page.goto(f"{url}/story?story={story.id}")
        expect(page.get_by_role("heading", name=HOSTILE_TITLE)).to_be_visible()
        for caption in HOSTILE_CAPTIONS:
            expect(shown_text(page, caption)).to_be_visible()
        replay = replay_frame(page)
        assert replay_state(replay)["sentence"] == HOSTILE_CAPTIONS[0]
        page.get_by_label("Teacher passcode").fill(PASSCODE)
        page.get_by_role("button", name="Unlock teacher mode").click()
        expect(page.get_by_text("Teacher mode is on.")).to_be_visible()
        page.get_by_text("Fix this picture").first.click()
        prompt = page.get_by_label("Picture prompt").first
        expect(prompt).to_have_value(f"{HOSTILE_CHARACTERS}. {HOSTILE_CAPTIONS[0]}")
        idle(page)
        page.wait_for_timeout(1000)  # give anything injected time to fire
        shot(page, artifacts, "10-hostile-text-story")
        nothing_ran(page, dialogs)
        context.close()
    finally:
        library.delete_story(story.id)
        library.close()
