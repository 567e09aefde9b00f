"""The PDF's first page shows the story's characters with their chosen pictures."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from pypdf import PdfReader

from s2i_core.exports import export_pdf
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.bible import Character, StoryBible
from s2i_core.story.characters import upload_character
from s2i_core.story.scenes import set_bible


def drawing(colour) -> bytes:
    photo = Image.new("RGB", (300, 400), (220, 215, 200))
    ImageDraw.Draw(photo).rectangle((100, 80, 200, 320), fill=colour)
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_first_page_shows_each_character_with_a_picture(tmp_path):
    with Library(Settings(data_dir=tmp_path)) as library:
        story = library.create_story("Rosie's balloon", class_name="2B")
        library.add_frame(story.id, FrameDraft(0, 0.0, 1.0, "Rosie found a balloon."))
        bible = StoryBible(
            (
                Character("Rosie", "a girl in a magenta coat"),
                Character("Max", "a brown dog"),
                Character("Grandma", "no picture yet"),
            )
        )
        set_bible(library, story.id, bible)
        upload_character(library, story.id, "Rosie", drawing((230, 40, 150)), "rosie.png")
        upload_character(library, story.id, "Max", drawing((120, 70, 20)), "max.png")

        plain = PdfReader(io.BytesIO(export_pdf(library.get_story(story.id), library)))
        library.set_character_sheet(story.id, False)  # the sheet is still the story's cast

    first = plain.pages[0]
    text = first.extract_text()
    assert "Rosie" in text and "Max" in text and "Grandma" not in text
    assert len(first.images) == 2
