"""The classroom word list: the school's list in nine languages, a teacher's words, disguises, and
a stopped frame that says which word and where. The table of phrases is
tests/fixtures/word_list_table.tsv (at least 100 to stop and 100 ordinary ones to pass)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s2i_core.jobs.drawing import generate_story
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.prompts import blocked_reason
from s2i_core.wordlist import (
    WordList,
    frame_stop_reason,
    frame_stops,
    school_entries,
    school_languages,
)
from s2i_core.wordlist.entries import DATA_DIR, read_file
from s2i_core.wordlist.matching import Matcher, matcher
from s2i_core.wordlist.normalise import fold
from tests.conftest_nvidia import stub_client, stub_settings
from tests.nvidia_stub import NvidiaStub

TABLE = Path(__file__).parents[1] / "fixtures" / "word_list_table.tsv"
APP_LANGUAGES = {"en", "es", "fr", "de", "hi", "zh", "ja", "pt", "ar"}
CATEGORIES = {"violence", "weapons", "gore", "sexual", "slurs"}


def table() -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        verdict, language, part, text, found, note = line.split("\t")
        text = re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), text)
        rows.append((verdict, language, part, text, found, note))
    return rows


ROWS = table()


def test_the_table_holds_100_phrases_to_stop_and_100_to_pass_in_many_languages():
    stops = [row for row in ROWS if row[0] == "stop"]
    passes = [row for row in ROWS if row[0] == "pass"]
    assert len(stops) >= 100 and len(passes) >= 100
    assert {row[1] for row in stops} >= APP_LANGUAGES
    assert {row[1] for row in passes} >= APP_LANGUAGES


@pytest.mark.parametrize(
    ("language", "part", "text", "found"),
    [row[1:5] for row in ROWS if row[0] == "stop"],
    ids=[f"{row[1]}-{row[3][:40]}" for row in ROWS if row[0] == "stop"],
)
def test_a_phrase_of_the_table_is_stopped_and_the_word_named(language, part, text, found):
    hits = WordList((), language).find(text, part)
    named = " | ".join(f"{hit.found} / {hit.entry.text}" for hit in hits)
    assert fold(found) in named, f"{text!r}: found {named or 'nothing'}"


@pytest.mark.parametrize(
    ("language", "part", "text"),
    [row[1:4] for row in ROWS if row[0] == "pass"],
    ids=[f"{row[1]}-{row[3][:40]}" for row in ROWS if row[0] == "pass"],
)
def test_an_ordinary_phrase_of_the_table_passes(language, part, text):
    hits = WordList((), language).find(text, part)
    assert hits == [], [(hit.found, hit.entry.text, hit.entry.language) for hit in hits]


# --- the school's list -----------------------------------------------------------------------
def test_every_app_language_has_a_list_with_every_category_asked_for():
    assert set(school_languages()) >= APP_LANGUAGES
    for language in APP_LANGUAGES:
        categories = {e.category for e in school_entries() if e.language == language}
        assert categories >= CATEGORIES, f"{language}: {CATEGORIES - categories} missing"


def test_each_file_says_where_its_words_come_from_and_lists_each_word_once():
    for path in sorted(DATA_DIR.glob("*.txt")):
        head = path.read_text(encoding="utf-8").splitlines()[:3]
        assert "README.md" in " ".join(head), f"{path.name} names no source"
        texts = [(e.text, e.exact) for e in read_file(path)]
        doubles = {t for t in texts if texts.count(t) > 1}
        assert not doubles, f"{path.name}: {doubles}"
    note = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in note and "Review" in note


def test_every_phrase_let_through_holds_a_word_the_list_would_stop():
    """An [allow] phrase that holds no listed word is dead weight (or a typo)."""
    for language in APP_LANGUAGES:
        full = matcher((), language, True, "sentence")
        without_allow = Matcher(full.languages, full.native, full.stop)
        for entry in (e for e in school_entries() if e.language == language and e.allows):
            assert without_allow.find(entry.text), f"{language}: {entry.text!r} stops nothing"


# --- normalisation -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("BL\u200bOOD", "blood"),  # case, zero-width space
        ("bl\u2060o\ufeffod", "blood"),  # word joiner, byte-order mark
        ("\uff22\uff4c\uff4f\uff4f\uff44", "blood"),  # full-width (NFKC)
        ("b\u0336l\u0336o\u0336o\u0336d\u0336", "blood"),  # combining strike-through
        ("\u0642\u064e\u062a\u064e\u0644\u064e", "\u0642\u062a\u0644"),  # Arabic vowel marks
        ("\u0642\u0640\u062a\u0640\u0644", "\u0642\u062a\u0644"),  # Arabic tatweel
        ("tuée", "tuée"),  # a letter's own accent stays
    ],
)
def test_text_is_folded_before_it_is_read(written, read):
    assert fold(written) == read


def test_a_word_with_accents_its_language_has_is_not_read_without_them():
    assert WordList((), "tr").find("Bir gün", "sentence") == []  # a day, in Turkish
    assert [h.entry.text for h in WordList((), "en").find("a gün")] == ["gun"]


# --- a teacher's list --------------------------------------------------------------------------
def test_a_teachers_words_stop_in_every_form_and_in_every_part():
    words = ("dragon", "ghost")
    assert WordList(words).hits("Two friendly ghosts waved.") == ["ghost"]
    frame = FrameDraft(0, 0, 1, "Le fantôme.", "The dragons flew.", scene="A fox.")
    assert [(h.entry.text, h.where) for h in frame_stops(frame, words, "fr")] == [
        ("dragon", "the English line")
    ]


def test_a_teacher_lets_a_word_of_the_school_list_through_and_only_that_word():
    assert WordList(("!knife",)).hits("The cook sharpened his knives.") == []
    assert WordList(("!knife",)).hits("The cook sharpened his knives and his gun.") == ["gun"]
    phrase_only = WordList(("!shot dead",))
    assert phrase_only.hits("The bird was shot dead.") == []
    assert phrase_only.hits("He shot him.") == ["shot him"]


def test_the_teachers_list_alone_is_what_the_preview_without_the_school_list_reads():
    assert WordList((), school=False).hits("A bloody knife.") == []
    assert WordList(("ghost",), school=False).hits("A ghost.") == ["ghost"]


def test_the_old_blocked_reason_still_names_the_listed_words():
    reason = blocked_reason("The pirate killed the parrot with a knife.", ())
    assert "word list (kill, knife)" in reason
    assert blocked_reason("A friendly ghost waved.", ()) == ""


# --- a stopped frame ----------------------------------------------------------------------------
def test_a_stopped_frame_says_which_words_and_where():
    frame = FrameDraft(
        0,
        0,
        1,
        text="El pirata mató al loro.",
        text_en="The pirate killed the parrot.",
        scene="A pirate and bl\u200bood on the deck.",
        prompt="A pirate with a k1ll3r look, a gun. children's storybook illustration",
    )
    reason = frame_stop_reason(frame, (), "es")
    assert "“mató” in the sentence" in reason
    assert "“killed” in the English line" in reason
    assert "“blood” in the scene" in reason
    assert "“k1ll3r” (listed: killer)" in reason and "“gun”" in reason
    assert reason.index("“gun”") > reason.index("the scene;")  # named under the prompt
    assert "Fix this picture" in reason


def test_an_english_sentence_and_its_identical_english_line_are_named_once():
    frame = FrameDraft(0, 0, 1, "A gory tale.", "A gory tale.", scene="A tale.", prompt="A tale.")
    assert frame_stop_reason(frame, (), "en").count("“gory”") == 1


def test_the_picture_service_never_hears_a_stopped_frame(tmp_path):
    """The probe's sentence reached the image service; now it is stopped before, and the frame
    says why, while the ordinary frame beside it is drawn."""
    with NvidiaStub() as stub:
        library = Library(stub_settings(stub, data_dir=tmp_path))
        story = library.create_story("Battle", language="en", image_params={"seed": 7})
        library.set_frames(
            story.id,
            [
                FrameDraft(0, 0, 2, "A bloody battlefield full of gunshots and corpses."),
                FrameDraft(1, 2, 4, "A quiet field.", scene="A quiet field.", prompt="A field."),
                FrameDraft(2, 4, 6, "A field.", scene="Gunfire at dawn.", prompt="A field."),
            ],
        )
        list(generate_story(library, stub_client(stub), story.id))
        sent = " ".join(str(r.body) for r in stub.generation_requests())
    frames = library.get_story(story.id).frames
    assert [f.status for f in frames] == ["filtered", "done", "filtered"]
    assert "“bloody”, “gunshots” and “corpses” in the sentence" in frames[0].error
    assert "“gunfire” in the scene" in frames[2].error
    assert "bloody" not in sent and "Gunfire" not in sent and "A field." in sent
