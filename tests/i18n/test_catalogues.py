"""The app speaks the reader's language: catalogues complete and current, placeholders intact,
every visible string from a catalogue, dates and numbers the language's way, stored engine
messages recognised and said again in another language.

``test_pages_in_the_pseudo_language`` renders every page (teacher and student) in the
pseudo-language, where every catalogue message is accented: any plain ASCII word left on the
page is a string that bypassed the catalogue. Stories are seeded in Greek so that a teacher's
words never look like an English string.
"""

from __future__ import annotations

import ast
import datetime as dt
import pickle
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from s2i_core.errors import AudioTooLargeError
from s2i_core.i18n import (
    LANGUAGES,
    PSEUDO,
    Message,
    direction,
    export_locale,
    format_date,
    format_duration,
    language_name,
    msg,
    negotiate,
    translate,
    translator,
)
from s2i_core.i18n.catalogue import LOCALES_DIR, po_path
from s2i_core.i18n.message import recognise
from s2i_core.i18n.pseudo import pseudo

ROOT = Path(__file__).resolve().parents[2]
POT = LOCALES_DIR / "messages.pot"
SHIPPED = [code for code in LANGUAGES if code != "en"]
# as `make messages` extracts them (Makefile: pybabel extract -k msg -k msg_n:1,2)
KEYWORDS = {**DEFAULT_KEYWORDS, "msg": None, "msg_n": (1, 2)}
SOURCES = ("app_pages", "s2i_ui", "s2i_core")
FIELD = re.compile(r"\{(\w*)[^{}]*\}")
TOKENS = re.compile(r":material/[a-z0-9_]+:|`[^`]*`|\*\*")


def template() -> dict:
    with POT.open("rb") as file:
        return {m.id: m for m in read_po(file) if m.id}


def catalogue(locale: str) -> dict:
    with po_path(locale).open("rb") as file:
        return {m.id: m for m in read_po(file, locale=locale) if m.id}


def extracted() -> set:
    found = {message for _, _, message, _, _ in extract_from_file("python", ROOT / "Home.py")}
    for folder in SOURCES:
        found |= {
            entry[2]
            for entry in extract_from_dir(ROOT / folder, [("**.py", "python")], keywords=KEYWORDS)
        }
    return {m if isinstance(m, str) else tuple(m) for m in found if m}


# --- the catalogues ----------------------------------------------------------------------------
def test_the_template_holds_every_message_of_the_code_and_no_other():
    """Run `make messages` when this fails: a message was added, changed or removed."""
    code, pot = extracted(), set(template())
    assert not code - pot, f"not in messages.pot (run make messages): {sorted(code - pot)[:5]}"
    assert not pot - code, f"no longer in the code (run make messages): {sorted(pot - code)[:5]}"


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_shipped_language_says_every_message(locale):
    messages = catalogue(locale)
    missing = [
        msgid
        for msgid in template()
        if msgid not in messages
        or messages[msgid].fuzzy
        or not all(
            messages[msgid].string if isinstance(messages[msgid].string, tuple) else (
                messages[msgid].string,)
        )
    ]  # fmt: skip
    assert not missing, f"{locale}: {len(missing)} messages untranslated, e.g. {missing[:3]}"


@pytest.mark.parametrize("locale", SHIPPED)
def test_translations_keep_their_placeholders_icons_and_code(locale):
    plural_zero_one_two = {"ar": 3}  # Arabic's zero/one/two forms may say the number in words
    problems = []
    for msgid, message in catalogue(locale).items():
        source = msgid if isinstance(msgid, str) else " ".join(msgid)
        fields = set(FIELD.findall(source))
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, form in enumerate(forms):
            if not form:
                continue
            found = set(FIELD.findall(form))
            allowed = {"n"} if index < plural_zero_one_two.get(locale, 0) else set()
            if (isinstance(msgid, tuple) and len(forms) == 1) or (index == 0 and len(forms) == 2):
                allowed = {"n"} if isinstance(msgid, tuple) and locale == "ar" else allowed
            if not found <= fields or fields - found - allowed:
                problems.append((msgid, form))
            if sorted(TOKENS.findall(form)) != sorted(TOKENS.findall(source)) and "`" in source:
                problems.append((msgid, form))
    assert not problems, f"{locale}: placeholders differ in {problems[:3]}"


def test_a_broken_translation_falls_back_to_english_and_never_fails():
    speaker = translator("es")
    assert speaker._fill("Hola {nombre}", "Hello {name}", {"name": "Ana"}) == "Hello Ana"


# --- which language ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "browser", "expected"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", None, "fr"),
        ("sw, de;q=0.5, es;q=0.7", None, "es"),  # Swahili is not shipped: the next by q
        ("zh-Hans-CN,zh;q=0.9", None, "zh"),
        ("pt-BR", None, "pt"),
        (None, "ar-EG", "ar"),
        ("", "ko-KR", "en"),
        ("*", None, "en"),
    ],
)
def test_the_browser_preferences_pick_the_language(accept, browser, expected):
    assert negotiate(accept, browser) == expected


def test_arabic_is_right_to_left_and_exports_speak_the_story_language():
    assert direction("ar") == "rtl" and direction("he") == "ltr" and direction("fr") == "ltr"
    assert export_locale("es") == "es"
    assert export_locale("sw") == "en"  # not shipped: English labels
    assert export_locale(PSEUDO) == "en"


# --- formats -----------------------------------------------------------------------------------
def spaced(text: str) -> str:
    """Babel writes no-break and narrow spaces where the language wants them."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def test_dates_numbers_and_durations_are_written_the_language_way():
    day = dt.date(2026, 12, 5)
    assert format_date(day, "es") == "5 de diciembre de 2026"
    assert format_date(day, "en") == "5 December 2026"
    assert format_date(day, "de") == "5. Dezember 2026"
    assert format_date(day, "zh") == "2026年12月5日"
    assert format_duration(95, "en") == "1 min 35 secs"
    assert spaced(format_duration(95, "fr")) == "1 min 35 s"
    assert spaced(format_duration(40, "ja")) == "40 秒"
    assert translator("de").gettext("Pictures: {n}", n=2.5) == "Bilder: 2,5"
    assert translator("de").gettext("Pictures: {n}", n=1024) == "Bilder: 1024"
    assert language_name("es", "fr") == "Espagnol" and language_name("ja", "ja") == "日本語"


@pytest.mark.parametrize(("n", "expected"), [(1, "1 historia"), (3, "3 historias")])
def test_counts_take_the_plural_form_of_the_language(n, expected):
    assert translator("es").ngettext("{n} story", "{n} stories", n) == expected


def test_arabic_has_its_six_plural_forms():
    said = {n: translator("ar").ngettext("{n} story", "{n} stories", n) for n in (1, 2, 3, 11, 100)}
    assert len(set(said.values())) >= 4, said


# --- the engine's messages ---------------------------------------------------------------------
def test_an_engine_message_is_its_english_text_and_keeps_how_to_say_it():
    error = AudioTooLargeError(
        msg("This file is {size} MB; the limit is {limit} MB. Record a shorter story or "
            "upload a compressed file such as MP3 or M4A.", size="61.0", limit="50")
    )  # fmt: skip
    assert str(error).startswith("This file is 61.0 MB; the limit is 50 MB.")
    spanish = translate(error, "es")
    assert "61.0" in spanish and "50" in spanish and "MB" in spanish
    assert spanish != str(error)
    again = pickle.loads(pickle.dumps(error))  # as the job queue carries it
    assert translate(again, "es") == spanish


def test_a_stored_message_is_recognised_and_said_in_the_reader_language():
    stored = str(msg("Drawing: {done}", done=msg("{done} of {total} pictures", done=3, total=8)))
    assert stored == "Drawing: 3 of 8 pictures"  # what the database holds, as before
    found = recognise(stored)
    assert isinstance(found, Message) and found.msgid == "Drawing: {done}"
    german = translate(stored, "de")
    assert "3" in german and "8" in german and "Drawing" not in german
    assert translate("Una frase de la maestra.", "de") == "Una frase de la maestra."


def test_a_stored_word_list_stop_is_said_whole_in_the_reader_language():
    """A stopped frame's reason names words in several places, joined; read back from the
    database it is said in the reader's language, every place included."""
    from types import SimpleNamespace

    from s2i_core.wordlist import frame_stop_reason

    frame = SimpleNamespace(
        text="El pirata sacó un cuchillo lleno de sangre.",
        text_en="The pirate drew a knife covered in blood.",
        scene="A bloody knife on the deck.",
        prompt="",
    )
    stored = str(frame_stop_reason(frame, (), "es"))
    assert "“sangre” in the sentence; “knife” and “blood” in the English line;" in stored
    spanish = translate(stored, "es")
    assert "en la frase; “knife” y “blood” en la línea en inglés;" in spanish
    assert "en la escena" in spanish and "Arreglar este dibujo" in spanish
    japanese = translate(stored, "ja")
    assert "英語の文の“knife”と“blood”" in japanese and "the " not in japanese
    assert translate("Tom said: hello; goodbye", "zh") == "Tom said: hello; goodbye"


def test_a_word_list_takes_the_commas_of_every_keyboard():
    from s2i_core.wordlist import parse_words

    assert parse_words("龙，鬼、火, ghost\nشبح،تنين") == ("龙", "鬼", "火", "ghost", "شبح", "تنين")


def test_the_pseudo_language_is_accented_longer_and_keeps_what_must_not_change():
    text = "**Signed in as {email}.** Set `S2I_TEACHER_PASSCODE` :material/lock: now"
    said = pseudo(text)
    assert len(said) >= 1.4 * len(text)
    for kept in ("{email}", "`S2I_TEACHER_PASSCODE`", ":material/lock:", "**"):
        assert kept in said
    assert not re.search(r"[A-Za-z]{2,}", TOKENS.sub("", FIELD.sub("", said)))


# --- every visible string goes through the catalogue -------------------------------------------
SHOWN = {  # Streamlit calls whose text a person reads: positional argument, keywords
    **dict.fromkeys(
        ("title", "header", "subheader", "markdown", "caption", "write", "info", "success",
         "warning", "error", "toast", "button", "form_submit_button", "download_button",
         "page_link", "text_input", "text_area", "number_input", "selectbox", "radio",
         "toggle", "checkbox", "slider", "file_uploader", "expander", "spinner", "status",
         "progress", "TextColumn", "notify", "no_picture", "not_found", "popover", "tabs"),
        0,
    ),
}  # fmt: skip
SHOWN_KEYWORDS = ("label", "help", "placeholder", "caption", "alt", "text", "page_title")
OURS = ("Home.py", "app_pages", "s2i_ui")


def literal_words(node: ast.AST) -> str:
    """Letters a person would read in a literal (or f-string) that skipped the catalogue."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    elif isinstance(node, ast.BinOp):
        return literal_words(node.left) + literal_words(node.right)
    elif isinstance(node, ast.IfExp):
        return literal_words(node.body) + literal_words(node.orelse)
    else:
        return ""
    return "".join(re.findall(r"[A-Za-z]{2,}", TOKENS.sub("", re.sub(r"<[^<>]*>", "", text))))


def test_no_page_hands_a_person_a_literal_string():
    found = []
    files = [ROOT / "Home.py"]
    files += [p for folder in OURS[1:] for p in (ROOT / folder).rglob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if getattr(getattr(node.func, "value", None), "id", "") in ("log", "logging"):
                continue
            shown = [node.args[0]] if name in SHOWN and node.args else []
            shown += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
            for argument in shown:
                if literal_words(argument):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not found, "wrap these in _() or ngettext():\n" + "\n".join(found)


def test_the_engine_raises_its_errors_with_messages():
    """An S2IError a page shows carries a msgid (msg()), not a bare English string."""
    from s2i_core import errors

    names = {n for n, v in vars(errors).items() if isinstance(v, type)}
    # the command line (s2i_core/cli/) stays English (exports/targets.py checks its export paths)
    english_only = ("cli.py", "lan.py", "ct2_to_whisper.py", "targets.py")
    found = []
    for path in (ROOT / "s2i_core").rglob("*.py"):
        if path.name in english_only or path.parent.name == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in names
                and node.args
                and literal_words(node.args[0])
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "raise these with msg(...):\n" + "\n".join(found)


# --- the server keeps the language chosen in this browser --------------------------------------
def test_the_language_route_sets_a_lasting_cookie_for_shipped_languages_only():
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from s2i_ui import language_routes

    app = Starlette(routes=language_routes.routes(lambda path: path))
    with TestClient(app) as client:
        answer = client.get("/s2i/language?code=pt-BR")
        assert answer.status_code == 204
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("s2i_lang=pt;") and "Max-Age=34560000" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        for refused in ("xx", PSEUDO, ""):
            assert "set-cookie" not in client.get(f"/s2i/language?code={refused}").headers
        elsewhere = {"Sec-Fetch-Site": "cross-site"}  # a link on another site changes nothing
        assert "set-cookie" not in client.get("/s2i/language?code=es", headers=elsewhere).headers
