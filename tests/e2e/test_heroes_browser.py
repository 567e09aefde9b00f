"""The same hero in every picture, in Chromium: a teacher uploads a phone photo of the class's
drawing of the hero (held sideways: EXIF says so), draws the missing pictures, and every frame
that names the hero is drawn from that drawing by FLUX.1 Kontext on the stand-in (which, like a
school's NIM container, takes the picture itself and pastes it into what it draws).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from s2i_core.pictures.nvidia import KONTEXT_ID
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.bible import Character, StoryBible
from s2i_core.story.scenes import set_bible
from tests.e2e.app_server import app_server, stand_in
from tests.e2e.test_browser import eventually, idle
from tests.nvidia_stub import NvidiaStub

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSCODE = "orange-fox-3"
STEP_MS = 60_000
HERO = (230, 40, 150)
SENTENCES = [
    "Rosie found a red balloon.",
    "The wind blew over the hill.",
    "Rosie flew over the river.",
]


def phone_photo() -> bytes:
    """The class's drawing of Rosie (head above a tall body) on greyish paper, photographed with
    the phone sideways: the pixels lie on their side and EXIF Orientation 6 says to turn them."""
    photo = Image.new("RGB", (600, 800), (212, 205, 190))
    draw = ImageDraw.Draw(photo)
    draw.ellipse((240, 120, 360, 240), fill=(40, 60, 220))
    draw.rectangle((250, 240, 350, 620), fill=HERO)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    photo.rotate(90, expand=True).save(buffer, format="JPEG", exif=exif.tobytes(), quality=92)
    return buffer.getvalue()


def seed_story(library: Library) -> int:
    story = library.create_story(
        "Rosie's balloon",
        class_name="Year 2 Robins",
        language="en",
        duration=9.0,
        style="storybook",
        image_model="stabilityai/stable-diffusion-xl",
        image_params={"model": "stabilityai/stable-diffusion-xl", "steps": 5, "seed": 7},
    )
    drafts = [FrameDraft(i, 3.0 * i, 3.0 * i + 3, t, t, prompt=t) for i, t in enumerate(SENTENCES)]
    library.set_frames(story.id, drafts)
    set_bible(library, story.id, StoryBible((Character("Rosie", "a girl in a magenta coat"),)))
    return story.id


@pytest.fixture(scope="module")
def app(tmp_path_factory, artifacts) -> Iterator[tuple[str, Library, int, NvidiaStub]]:
    data_dir = tmp_path_factory.mktemp("heroes")
    library = Library(Settings(data_dir=data_dir))
    story_id = seed_story(library)
    with NvidiaStub(latency=0.2) as stub:  # a school's own NIM container
        env = {"S2I_DATA_DIR": str(data_dir), "S2I_TEACHER_PASSCODE": PASSCODE, **stand_in(stub)}
        with app_server(env, artifacts / "heroes-streamlit.log") as url:
            yield url, library, story_id, stub
    library.close()


def shows_hero(library: Library, path: str) -> bool:
    with Image.open(library.path(path)) as picture:
        rgb = picture.convert("RGB")
    corner = rgb.crop((rgb.width // 2, rgb.height * 2 // 3, rgb.width, rgb.height))
    colours = corner.resize((64, 64), Image.Resampling.NEAREST).getcolors(64 * 64)
    near = lambda c: all(abs(a - b) <= 30 for a, b in zip(c, HERO, strict=True))  # noqa: E731
    return sum(n for n, colour in colours if near(colour)) > 40


def test_an_uploaded_hero_is_drawn_in_every_frame_that_names_her(browser, app, artifacts):
    url, library, story_id, stub = app
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(STEP_MS)
    page.goto(f"{url}/story?story={story_id}")
    idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("Teacher passcode").fill(PASSCODE)
    sidebar.get_by_role("button", name="Unlock teacher mode").click()
    expect(page.get_by_text("Teacher mode is on.")).to_be_visible()
    idle(page)

    sheet = page.get_by_test_id("stExpander").filter(has_text="Character sheet")
    sheet.get_by_text("Character sheet").first.click()
    sheet.locator("input[type=file]").set_input_files(
        files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": phone_photo()}]
    )
    idle(page)
    sheet.get_by_role("button", name="Use this drawing").click()
    idle(page)
    expect(sheet.get_by_text("Rosie (the class's drawing)")).to_be_visible()
    page.screenshot(path=artifacts / "heroes-sheet.png", full_page=True)
    [chosen] = library.character_sheet(story_id).pictures
    with Image.open(library.path(chosen.image_path)) as kept:
        assert kept.height > kept.width  # turned upright from the photo's EXIF

    tools = page.get_by_test_id("stExpander").filter(has_text="Teacher tools")
    tools.get_by_text("Teacher tools").first.click()
    tools.get_by_role("button", name="Draw the missing pictures (3)").click()
    done = lambda: all(f.status == "done" for f in library.get_story(story_id).frames)  # noqa: E731
    eventually(done, 180, "the three pictures")

    for frame in library.get_story(story_id).frames:
        assert shows_hero(library, frame.image_path) == ("Rosie" in frame.text), frame.text
    models = [r.model for r in stub.generation_requests() if r.status == 200]
    assert sorted(models) == sorted([KONTEXT_ID, KONTEXT_ID, "stabilityai/stable-diffusion-xl"])
    page.reload()
    idle(page)
    page.screenshot(path=artifacts / "heroes-storyboard.png", full_page=True)
    page.context.close()
