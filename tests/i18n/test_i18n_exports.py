"""The PDF's labels and the video's title card speak the story's own language (when shipped):
a Spanish class prints "Fecha: 5 de diciembre de 2026", an Arabic class gets Arabic labels set
right to left; a story in a language the app does not ship gets English labels."""

from __future__ import annotations

import io
import unicodedata

import pytest
from pypdf import PdfReader

from s2i_core.exports import export_pdf
from s2i_core.exports.video_cards import _facts
from s2i_core.i18n import format_date
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library


@pytest.fixture
def library(tmp_path, monkeypatch):
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    with Library(Settings.load()) as library:
        yield library


def story(library: Library, language: str, sentences: list[str]):
    made = library.create_story("Título", class_name="4B", language=language, duration=95)
    library.set_frames(
        made.id,
        [FrameDraft(i, i * 4.0, i * 4.0 + 4, text, text) for i, text in enumerate(sentences)],
    )
    return library.get_story(made.id)


def title_page(library: Library, story) -> str:
    text = PdfReader(io.BytesIO(export_pdf(story, library))).pages[0].extract_text()
    return unicodedata.normalize("NFC", text.replace("\xa0", " ").replace("\u202f", " "))


def test_a_spanish_story_prints_spanish_labels_dates_and_lengths(library):
    made = story(library, "es", ["El zorro encontró un globo.", "El globo voló."])
    page = title_page(library, made)
    expected_date = format_date(made.created_at, "es")  # "5 de diciembre de 2026"
    assert " de " in expected_date
    for line in ("Clase: 4B", f"Fecha: {expected_date}", "Idioma: Español", "Dibujos: 2",
                 "Duración: 1 min 35 s"):  # fmt: skip
        assert line in page, page
    # no picture drawn yet: the card says so in Spanish too
    second = PdfReader(io.BytesIO(export_pdf(made, library))).pages[1].extract_text()
    assert "Este dibujo aún no se ha hecho." in second


def test_an_arabic_story_prints_arabic_labels(library):
    made = story(library, "ar", ["وجد الثعلب بالونًا."])
    page = title_page(library, made)
    for word in ("الصف", "التاريخ", "اللغة", "العربية", "الصور", "المدة"):
        assert word in page, page
    assert "Date" not in page and "Class" not in page


def test_a_language_the_app_does_not_ship_gets_english_labels(library):
    made = story(library, "sw", ["Mbweha alipata puto."])
    page = title_page(library, made)
    assert "Class: 4B" in page and "Language: Swahili" in page and "Pictures: 1" in page


def test_the_video_title_card_says_its_facts_in_the_story_language(library):
    made = story(library, "fr", ["Le renard a trouvé un ballon.", "Il vole."])
    facts = _facts(made)
    assert "2 images" in facts and "Français" in facts and "4B" in facts
    assert format_date(made.created_at, "fr") in facts  # "5 décembre 2026"
