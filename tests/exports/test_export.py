"""PDF export: a real document that pypdf reads and poppler renders, in every bundled script."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from s2i_core.exports import export_pdf
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library, StoryRecord

CAPTIONS = [
    ("राजा ने एक सुंदर बगीचा देखा।", "The king saw a beautiful garden."),
    ("Мальчик побежал к реке.", "The boy ran to the river."),
    ("Ο μικρός σκύλος κοιμάται.", "The little dog sleeps."),
    ("L'élève a déjà mangé sa crème brûlée à Noël.", "The pupil already ate his dessert."),
    ("ذهب الولد إلى المدرسة.", "The boy went to school."),
]


@pytest.fixture
def library(tmp_path: Path):
    with Library(Settings(data_dir=tmp_path / "data")) as lib:
        yield lib


def picture(color: str, size: int = 256) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, "PNG")
    return buffer.getvalue()


def make_story(
    library: Library,
    captions=CAPTIONS,
    title: str = "राजा और बगीचा",
    language: str = "hi",
    with_pictures: bool = True,
) -> StoryRecord:
    story = library.create_story(title, class_name="4B", language=language, duration=95)
    frames = library.set_frames(
        story.id,
        [FrameDraft(i, i * 4.0, i * 4.0 + 4, text, en) for i, (text, en) in enumerate(captions)],
    )
    if with_pictures:
        for frame, color in zip(frames, ["red", "green", "blue", "orange", "purple"], strict=False):
            library.save_frame_result(frame.id, "done", image=picture(color))
    return library.get_story(story.id)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_pdf_has_a_title_page_then_two_frames_per_page(library: Library):
    story = make_story(library)
    reader = PdfReader(io.BytesIO(export_pdf(story, library)))

    assert len(reader.pages) == 1 + 3  # five frames, two per page
    assert reader.metadata.title == "राजा और बगीचा"
    title_page = reader.pages[0].extract_text()
    for expected in ("राजा और बगीचा", "Class: 4B", "Language: Hindi", "Pictures: 5", "1:35"):
        assert expected in title_page
    assert [len(page.images) for page in reader.pages] == [0, 2, 2, 1]
    assert "2 / 4" in reader.pages[1].extract_text()


def test_every_caption_and_english_line_is_real_text(library: Library):
    """Text only extracts when its glyphs are in an embedded font (a character no font has is
    dropped silently), so this also shows each script found its font."""
    story = make_story(library)
    text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(export_pdf(story, library))).pages
    )

    assert "राजा ने एक सुंदर बगीचा देखा।" in text
    for caption, english in CAPTIONS:
        assert set(words(caption)) <= set(words(text)), caption
        assert english in text


def test_english_lines_are_left_out_of_english_stories(library: Library):
    captions = [("The fox jumped.", "The fox jumped."), ("The hen ran.", "A different gloss.")]
    story = make_story(library, captions, title="Fox and hen", language="en")
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(export_pdf(story, library))).pages
    )
    assert text.count("The fox jumped.") == 1
    assert "A different gloss." not in text


def test_fonts_are_embedded(library: Library):
    data = export_pdf(make_story(library), library)
    embedded = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor  # the TrueType program itself is in the file
            embedded.add(str(font["/BaseFont"]).split("+")[-1])
    assert {"DejaVuSansBook", "DejaVuSansOblique", "NotoSansDevanagari", "NotoSansArabic"} <= (
        embedded
    )


def test_poppler_renders_every_page_cleanly(library: Library, tmp_path: Path):
    pdf = tmp_path / "story.pdf"
    export_pdf(make_story(library), library, pdf)
    result = subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stderr == ""
    assert len(list(tmp_path.glob("page-*.png"))) == 4


def test_a_story_without_pictures_still_exports(library: Library):
    captions = [
        ("Waiting.", ""),
        ("Broken.", ""),
        ("Blocked.", ""),
        ("Offline.", ""),
        ("Lost.", ""),
    ]
    story = make_story(
        library, captions, title="No pictures yet", language="en", with_pictures=False
    )
    frames = story.frames
    library.save_frame_result(frames[1].id, "failed", error="The image service timed out.")
    library.save_frame_result(frames[2].id, "filtered", error="Blocked word.")
    library.save_frame_result(frames[3].id, "no_backend")
    lost = library.save_frame_result(frames[4].id, "done", image=picture("red"))
    library.path(lost.image_path).unlink()  # the file went missing from the disk

    out = io.BytesIO()
    export_pdf(library.get_story(story.id), library, out)
    reader = PdfReader(io.BytesIO(out.getvalue()))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)

    assert len(reader.pages) == 4
    assert sum(len(page.images) for page in reader.pages) == 0
    for expected in (
        "This picture has not been made yet.",
        "This picture could not be made.",
        "The image service timed out.",
        "held back by the safety filter",
        "No picture service was set up",
        "The picture file is missing",
        "Lost.",
    ):
        assert expected in text


def test_user_text_is_printed_as_typed(library: Library):
    title = "<b>Bold?</b> **not markdown** {nb} %s &amp;"
    story = make_story(library, [("<i>x</i> {nb} **y**", "")], title=title, language="en")
    reader = PdfReader(io.BytesIO(export_pdf(story, library)))
    assert reader.metadata.title == title
    assert title in " ".join(reader.pages[0].extract_text().split())
    assert "<i>x</i> {nb} **y**" in reader.pages[1].extract_text()


def test_overlong_text_is_cut_to_fit_the_page(library: Library):
    captions = [("word " * 200, "gloss " * 100), ("Short one.", "")]
    story = make_story(library, captions, title="Very long title " * 20, language="fr")
    reader = PdfReader(io.BytesIO(export_pdf(story, library)))
    assert len(reader.pages) == 2
    assert "…" in reader.pages[0].extract_text()
    assert reader.pages[1].extract_text().count("…") == 2  # the caption and its English line
    assert "Short one." in reader.pages[1].extract_text()
