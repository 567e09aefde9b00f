"""The shipped languages, their catalogues (loaded once per process) and which one a reader gets.

Catalogues are ``s2i_core/locales/<code>/LC_MESSAGES/messages.po``. A compiled ``messages.mo``
beside one is used when it is newer (``make messages`` writes them; they are not committed); else
the ``.po`` is compiled in memory on first use, so a fresh clone runs without a build step.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from .formats import format_number
from .pseudo import pseudo
from .shipped import DEFAULT, LANGUAGES, PSEUDO, RTL

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "messages"
_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{4}))?(?:[-_]([a-zA-Z]{2}|\d{3}))?")


def normalise(tag: str | None) -> str | None:
    """A shipped language for a language tag ("es-MX" -> "es", "zh-Hans-CN" -> "zh"), else None."""
    if not tag:
        return None
    tag = tag.strip()
    if tag.lower() == PSEUDO:
        return PSEUDO
    found = _TAG.match(tag)
    code = found.group(1).lower() if found else ""
    return code if code in LANGUAGES else None


def negotiate(accept_language: str | None = None, browser_locale: str | None = None) -> str:
    """The reader's language: the first shipped one of the browser's Accept-Language list (in
    order of its q values), else its ``navigator.language``, else English."""
    preferences = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            preferences.append((-quality, position, tag))
    tags = [tag for _, _, tag in sorted(preferences)] + [browser_locale or ""]
    return next((code for code in map(normalise, tags) if code and code != PSEUDO), DEFAULT)


def direction(locale: str) -> str:
    """ "rtl" for the languages written right to left, else "ltr"."""
    return "rtl" if locale in RTL else "ltr"


def export_locale(story_language: str | None) -> str:
    """The language of an export's own words (labels, title card): the story's, when shipped."""
    code = normalise(story_language)
    return code if code and code != PSEUDO else DEFAULT


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _translations(locale: str) -> NullTranslations:
    if locale == DEFAULT or locale not in LANGUAGES:
        return NullTranslations()
    po = po_path(locale)
    mo = po.with_suffix(".mo")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as file:
            return Translations(file, domain=DOMAIN)
    if not po.is_file():
        log.warning("no catalogue for %s (%s): its readers get English", locale, po)
        return NullTranslations()
    with po.open("rb") as file:
        catalog = read_po(file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


class Translator:
    """One language's words: ``gettext``/``ngettext`` with named placeholders filled in
    (numbers written the language's way)."""

    def __init__(self, locale: str):
        self.locale = locale if locale in LANGUAGES or locale == PSEUDO else DEFAULT
        self.direction = direction(self.locale)

    def template(self, msgid: str, plural: str | None = None, n: int = 1) -> str:
        if self.locale == PSEUDO:
            return pseudo(msgid if plural is None or n == 1 else plural)
        found = _translations(self.locale)
        if plural is None:
            return found.gettext(msgid)
        return found.ngettext(msgid, plural, n)

    def gettext(self, msgid: str, /, **params: object) -> str:
        return self._fill(self.template(msgid), msgid, params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        params.setdefault("n", n)
        english = singular if n == 1 else plural
        return self._fill(self.template(singular, plural, n), english, params)

    def _fill(self, template: str, english: str, params: dict[str, object]) -> str:
        if not params:
            return template
        shown = {
            name: format_number(value, self.locale)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else value
            for name, value in params.items()
        }
        try:
            return template.format(**shown)
        except (KeyError, IndexError, ValueError):  # a broken translation: say it in English
            log.warning("the %s translation of %r does not fit its placeholders", self.locale,
                        english)  # fmt: skip
            return english.format(**shown)


@functools.cache
def translator(locale: str) -> Translator:
    return Translator(locale)
