"""The character sheet on the Story page, driven through Streamlit's AppTest: the class's
uploaded hero is shown with the story, and the teacher switches drawing from it off."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.bible import Character, StoryBible
from s2i_core.story.characters import upload_character
from s2i_core.story.scenes import set_bible

TITLE = "Character sheet: the same hero in every picture"

ROOT = Path(__file__).resolve().parents[2]
STORY = "app_pages/story.py"
TIMEOUT = 60


@pytest.fixture
def library(tmp_path, monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_LLM", "off")
    with Library(Settings.load()) as library:
        yield library


def drawing() -> bytes:
    photo = Image.new("RGB", (300, 400), (220, 215, 200))
    ImageDraw.Draw(photo).rectangle((100, 80, 200, 320), fill=(230, 40, 150))
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    return buffer.getvalue()


def story_with_hero(library: Library) -> int:
    story = library.create_story("Rosie's balloon")
    library.add_frame(story.id, FrameDraft(0, 0.0, 1.0, "Rosie found a balloon."))
    set_bible(library, story.id, StoryBible((Character("Rosie", "a girl in a magenta coat"),)))
    upload_character(library, story.id, "Rosie", drawing(), "rosie.png")
    return story.id


def open_story(story_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=TIMEOUT)
    at.switch_page(STORY)
    at.query_params["story"] = str(story_id)
    return at.run()


def test_the_story_page_shows_the_class_hero_and_the_switch(library):
    story_id = story_with_hero(library)
    at = open_story(story_id)
    assert not at.exception
    assert TITLE in [e.label for e in at.expander]
    assert any("Rosie" in str(m.value) and "magenta coat" in str(m.value) for m in at.markdown)
    [switch] = [t for t in at.toggle if t.label == "Draw characters from their pictures"]
    assert switch.value is True

    switch.set_value(False).run()

    assert library.character_sheet(story_id).enabled is False
