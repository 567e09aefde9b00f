"""The pages' words in the reader's language (s2i_core.i18n has the catalogues).

Which language: ``?lang=xx`` in the address, else the one chosen in the sidebar's menu (kept in
this browser by a cookie that the server sets, ``s2i_lang``), else the browser's preferred
languages (Accept-Language, then ``navigator.language``), else English. Pages say
``_("Open the library")``, ``ngettext("{n} story", "{n} stories", n)`` and ``tr(error)`` for a
message the engine made (an error, a job's progress, a frame's failure).
"""

from __future__ import annotations

import datetime as dt
import json

import streamlit as st

from s2i_core import i18n
from s2i_core.i18n import LANGUAGES, PSEUDO

LANG_KEY = "s2i_language"  # this session's language (session state)
LANG_COOKIE = "s2i_lang"  # the language chosen in this browser (set by the server's route)
MENU_KEY = "s2i_language_menu"
REMEMBER_KEY = "s2i_language_remember"  # a choice the server should keep in the cookie


def locale() -> str:
    """The reader's language for this run."""
    asked = i18n.normalise(_query("lang"))
    if asked:
        st.session_state[LANG_KEY] = asked
        return asked
    chosen = st.session_state.get(LANG_KEY)
    if chosen:
        return chosen
    found = i18n.normalise(_read(lambda: st.context.cookies.get(LANG_COOKIE))) or i18n.negotiate(
        _read(lambda: st.context.headers.get("Accept-Language")), _read(lambda: st.context.locale)
    )
    st.session_state[LANG_KEY] = found
    return found


def _(msgid: str, /, **params: object) -> str:
    return i18n.translator(locale()).gettext(msgid, **params)


def ngettext(singular: str, plural: str, n: int, /, **params: object) -> str:
    return i18n.translator(locale()).ngettext(singular, plural, n, **params)


def tr(text: object) -> str:
    """A message the engine made (or stored), or an exception, in the reader's language."""
    return i18n.translate(text, locale())


def labels(options, say=None):
    """A menu's ``format_func``: each option said now, in the reader's language, then looked
    up (Streamlit may call a format_func after the page's run, where no reader is known)."""
    said = {option: (say or _)(option) for option in options}
    return lambda option: said.get(option, str(option))


def date(value: dt.date | dt.datetime, length: str = "long") -> str:
    return i18n.format_date(value, locale(), length)


def number(value: float) -> str:
    return i18n.format_number(value, locale())


def duration(seconds: float) -> str:
    return i18n.format_duration(seconds, locale())


def language(code: str) -> str:
    """A story's language, named in the reader's language."""
    return i18n.language_name(code, locale())


def direction() -> str:
    return i18n.direction(locale())


def choose(code: str, remember: bool = True) -> None:
    """Read the app in ``code`` from now on (in this browser too, with ``remember``)."""
    code = i18n.normalise(code) or i18n.DEFAULT
    st.session_state[LANG_KEY] = code
    st.session_state[MENU_KEY] = code
    if "lang" in st.query_params:
        del st.query_params["lang"]
    if remember:
        st.session_state[REMEMBER_KEY] = code


def language_menu() -> None:
    """The sidebar's language menu; each name is written in its own language."""
    current = locale()
    codes = list(LANGUAGES) + ([PSEUDO] if current == PSEUDO else [])
    st.session_state[MENU_KEY] = current
    st.selectbox(
        ":material/translate: " + _("Language of the app"),
        codes,
        format_func=lambda code: LANGUAGES.get(code, "Pseudo"),
        key=MENU_KEY,
        on_change=lambda: choose(st.session_state[MENU_KEY]),
    )
    _remember()


def _remember() -> None:
    """After a choice, the browser asks the server to keep it (the ``s2i_lang`` cookie): the
    next visit, in any tab of this browser, opens in it."""
    code = st.session_state.pop(REMEMBER_KEY, None)
    if code is None:
        return
    from . import web

    if not web.routes_mounted():  # AppTest, bare `streamlit run`: this session only
        return
    target = json.dumps(f"{web.url_path('/s2i/language')}?code={code}")
    st.html(
        f"<script>fetch({target}, {{credentials: 'same-origin', cache: 'no-store'}});</script>",
        unsafe_allow_javascript=True,
    )


def follow_story(story_language: str) -> None:
    """On a story in another shipped language: one click reads the page in it."""
    code = i18n.normalise(story_language)
    current = locale()
    if not code or code in (current, PSEUDO) or current == PSEUDO:
        return
    # said in the story's language: the reader who wants it is the one who reads it
    label = i18n.translator(code).gettext("Read this page in {language}", language=LANGUAGES[code])
    st.button(label, icon=":material/translate:", key="follow_story", on_click=choose, args=(code,))


def page_language() -> None:
    """The page's language and direction for the browser and screen readers (``lang`` picks
    the right Chinese or Japanese glyphs); Arabic lays out right to left."""
    code, way = locale(), direction()
    tag = "en" if code == PSEUDO else {"zh": "zh-Hans"}.get(code, code)
    root = "document.documentElement"
    st.html(
        f"<script>{root}.lang = {json.dumps(tag)}; {root}.dir = {json.dumps(way)};</script>",
        unsafe_allow_javascript=True,
    )
    if way == "rtl":
        st.html(_RTL_CSS)


_RTL_CSS = """<style>
[data-testid="stAppViewContainer"], [data-testid="stSidebar"], [data-testid="stToast"] {
  direction: rtl; }
[data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"],
[data-testid="stWidgetLabel"], [data-testid="stHeading"] { text-align: right; }
/* sentences, titles and codes a teacher typed keep their own direction */
[data-testid="stMarkdownContainer"] p { unicode-bidi: plaintext; }
</style>"""


def _query(name: str) -> str | None:
    try:
        return st.query_params.get(name)
    except Exception:
        return None


def _read(read) -> str | None:
    try:
        value = read()
    except Exception:  # no browser behind this run (tests, bare mode)
        return None
    return value if isinstance(value, str) else None
