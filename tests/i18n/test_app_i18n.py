"""Every page in the reader's language, driven through Streamlit's AppTest.

``test_every_page_speaks_only_catalogue_words`` renders each page, as the teacher and as a
student, in the pseudo-language: every catalogue message comes out accented (``Ŏþéñ ţĥé…``), so
a plain ASCII word left on screen is a string that skipped the catalogue. Stories are seeded in
Greek, so a teacher's own words never look like one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from s2i_core.i18n import LANGUAGES, PSEUDO
from s2i_core.pictures.images import placeholder_card, thumbnail
from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.storage import Library
from s2i_core.story.drafts import frame_drafts
from s2i_core.story.sentences import Sentence
from s2i_core.wordlist import SOURCE_NOTE
from s2i_ui.i18n import LANG_KEY

ROOT = Path(__file__).resolve().parents[2]
HOME, CREATE, LIBRARY = None, "app_pages/create.py", "app_pages/library.py"
STORY, WORD_LIST = "app_pages/story.py", "app_pages/word_list.py"
PASSCODE = "river-otter-42"
TIMEOUT = 90
GREEK = ["Η αλεπού βρήκε ένα μπαλόνι.", "Το μπαλόνι πέταξε πάνω από το ποτάμι."]
# Names that are the same in every language: products, models, file types, what a setting is
# called; and the language menu, where each language is named in its own words.
NAMES = re.compile(
    r"`[^`]*`|<[^<>]*>|:material/[a-z_]+:|https?://\S+|(?<!\w)/[\w/?=&.-]+|"
    r"Stable Diffusion[\w .]*|SDXL[\w .-]*|SD3[\w .-]*|FLUX[\w .-]*|stabilityai/\S+|"
    r"black-forest-labs/\S+|NVIDIA(_API_KEY)?|faster-whisper|openai-whisper|torch-batched|"
    r"Whisper|\b(CPU|CUDA|GPU|PDF|MP4|MP3|M4A|OGG|MB|KB|int8|float16|float32|cuda|cpu|px)\b|"
    r"\b[A-Z0-9]{6}\b|[A-Z_]{3,}|\btiny\.en\b|Pseudo|The fox and the balloon|"
    + "|".join(re.escape(name) for name in LANGUAGES.values())
)

# Notes for maintainers that a page shows as they are, in English, under a caption that says so
# (the word list page: where the school's words come from, and their licence).
ENGLISH_DOCUMENTS = {SOURCE_NOTE.read_text(encoding="utf-8").strip()}


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_LLM", "off")
    return monkeypatch


@pytest.fixture
def library(env):
    with Library(Settings.load()) as library:
        yield library


def seed(library: Library, pictures: bool = True, language: str = "el") -> int:
    story = library.create_story(
        title="Η αλεπού και το μπαλόνι",
        class_name="Κουκουβάγιες",
        language=language,
        duration=6.0,
        transcript=" ".join(GREEK),
    )
    sentences = [Sentence(i, 3.0 * i, 3.0 * i + 3.0, t, t) for i, t in enumerate(GREEK)]
    frames = library.set_frames(story.id, frame_drafts(sentences, library.get_story(story.id)))
    if pictures:
        card = placeholder_card(GREEK[0], 256, 256)
        library.save_frame_result(frames[0].id, "done", image=card, thumbnail=thumbnail(card))
        library.save_frame_result(frames[1].id, "failed", error="Το δίκτυο έπεσε.")
    return story.id


def open_page(
    page: str | None, lang: str = PSEUDO, locale: str | None = None, state=None, **query
) -> AppTest:
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=TIMEOUT)
    for name, value in (state or {}).items():
        at.session_state[name] = value
    if locale:
        at.context["locale"] = locale
    if page:
        at.switch_page(page)
    if lang:
        at.query_params["lang"] = lang
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def shown(at: AppTest) -> list[str]:
    """Every text a person reads on the page (and in the sidebar)."""
    texts = [
        str(e.value)
        for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success",
                     "warning", "error", "toast")
        for e in getattr(at, kind)
    ]  # fmt: skip
    for kind in ("button", "text_input", "text_area", "selectbox", "radio", "toggle",
                 "number_input", "slider", "expander", "checkbox"):  # fmt: skip
        for widget in getattr(at, kind):
            texts += [str(widget.label or ""), str(getattr(widget, "help", "") or "")]
            texts.append(str(getattr(widget, "placeholder", "") or ""))
            if kind in ("selectbox", "radio") and widget.key != "s2i_language_menu":
                texts += [str(option) for option in widget.options]
    texts += [link.proto.label for link in at.get("page_link")]
    texts += [link.proto.label for link in at.sidebar.get("page_link")]
    return [t for t in texts if t]


def untranslated(at: AppTest) -> list[str]:
    """Texts with an ASCII word that is neither accented (catalogue) nor a name."""
    return [
        t
        for t in shown(at)
        if re.search(r"[A-Za-z]{2,}", NAMES.sub("", t)) and t.strip() not in ENGLISH_DOCUMENTS
    ]


def page_views(library: Library) -> list[tuple[str, str | None, dict]]:
    story_id = str(seed(library))
    draft_id = str(seed(library, pictures=False))
    return [
        ("home", HOME, {}),
        ("library", LIBRARY, {}),
        ("story", STORY, {"story": story_id}),
        ("story, no id", STORY, {}),
        ("create", CREATE, {}),
        ("create, telling it live", CREATE, {"state": {"c_live": True}}),
        ("create, sentences of a draft", CREATE, {"draft": draft_id}),
        ("word list", WORD_LIST, {"wl_try": ""}),
    ]


def test_every_page_speaks_only_catalogue_words_to_the_teacher(library):
    for name, page, query in page_views(library):
        at = open_page(page, **query)
        assert not at.exception, (name, at.exception)
        assert shown(at), name
        assert not untranslated(at), f"{name}: {untranslated(at)}"


def test_every_page_speaks_only_catalogue_words_to_a_student(env, library):
    env.setenv("S2I_TEACHER_PASSCODE", PASSCODE)
    for name, page, query in page_views(library):
        at = open_page(page, **query)
        assert not at.exception, (name, at.exception)
        assert not untranslated(at), f"{name}: {untranslated(at)}"


# --- which language ----------------------------------------------------------------------------
def texts(at: AppTest) -> str:
    return "\n".join(shown(at))


def test_the_browser_language_is_the_default(env):
    at = open_page(HOME, lang="", locale="es-MX")
    assert "Abrir la biblioteca" in [b.label for b in at.button]
    assert at.session_state[LANG_KEY] == "es"
    at = open_page(HOME, lang="", locale="sw-KE")  # not shipped: English
    assert "Open the library" in [b.label for b in at.button]


def test_the_sidebar_menu_changes_the_language_for_every_page(env):
    at = open_page(HOME, lang="")
    menu = at.sidebar.selectbox(key="s2i_language_menu")
    assert menu.options == list(LANGUAGES.values())  # each in its own words
    at = menu.set_value("de").run()
    assert "Bibliothek öffnen" in [b.label for b in at.button]
    at.switch_page(LIBRARY)
    at = at.run()
    assert "Bibliothek" in [t.value for t in at.title]
    at = at.sidebar.selectbox(key="s2i_language_menu").set_value("ar").run()
    assert "المكتبة" in [t.value for t in at.title]


def test_arabic_pages_lay_out_right_to_left(env):
    at = open_page(LIBRARY, lang="ar")
    html = "".join(str(e.proto.body) for e in at.get("html"))
    assert 'dir = "rtl"' in html and "direction: rtl" in html
    at = open_page(LIBRARY, lang="fr")
    html = "".join(str(e.proto.body) for e in at.get("html"))
    assert 'dir = "ltr"' in html and "direction: rtl" not in html


def test_a_story_page_follows_the_story_language_with_one_click(env, library):
    story_id = str(seed(library, language="es"))
    at = open_page(STORY, lang="en", story=story_id)
    [follow] = [b for b in at.button if b.key == "follow_story"]
    assert follow.label == "Leer esta página en Español"  # said in the story's language
    at = follow.click().run()
    assert "Volver a la biblioteca" in [link.proto.label for link in at.get("page_link")]
    assert not [b for b in at.button if b.key == "follow_story"]  # nothing left to follow
    # a story in a language the app does not ship offers nothing
    greek = str(seed(library))
    at = open_page(STORY, lang="en", story=greek)
    assert not [b for b in at.button if b.key == "follow_story"]


def test_dates_counts_and_engine_messages_in_the_reader_language(env, library):
    story_id = str(seed(library))
    at = open_page(LIBRARY, lang="es")
    assert "1 historia" in texts(at)
    at = open_page(STORY, lang="es", story=story_id)
    page = texts(at)
    assert "de 20" in page  # "5 de diciembre de 2026": the story's date, the Spanish way
    assert "1 de 2 dibujos" in page
    at = open_page(HOME, lang="ja")
    assert "NVIDIA_API_KEY も S2I_LOCAL_IMAGE_MODEL も設定されていないため" in texts(at)
