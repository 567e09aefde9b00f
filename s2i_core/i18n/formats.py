"""Dates, numbers, durations and language names the way the reader's language writes them."""

from __future__ import annotations

import datetime as dt
import functools

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.units import format_unit

from .pseudo import pseudo
from .shipped import DEFAULT, LANGUAGES, PSEUDO

# How each shipped language is written: English the British way ("5 December 2026"), as the
# app always wrote it; the pseudo-language as English.
_FORMAT_LOCALES = {"en": "en_GB", PSEUDO: "en_GB"}


@functools.cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(_FORMAT_LOCALES.get(locale, locale if locale in LANGUAGES else "en_GB"))


def format_date(value: dt.date | dt.datetime, locale: str, length: str = "long") -> str:
    """ "5 de diciembre de 2026" (long), "5 dic 2026" (medium)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    said = _babel_date(value, length, locale=babel_locale(locale))
    return pseudo(said) if locale == PSEUDO else said


def format_number(value: float, locale: str) -> str:
    """ "2,5" in German; no thousands separators (picture sizes, story numbers: 1024, 2026)."""
    return format_decimal(value, locale=babel_locale(locale), group_separator=False)


def format_duration(seconds: float, locale: str) -> str:
    """A story's length: "2 min 5 s", "2分钟5秒", "45 s"."""
    total = max(0, round(seconds))
    minutes, rest = divmod(total, 60)
    where = babel_locale(locale)
    parts = []
    if minutes:
        parts.append(format_unit(minutes, "duration-minute", length="short", locale=where))
    if rest or not minutes:
        parts.append(format_unit(rest, "duration-second", length="short", locale=where))
    said = format_list(parts, style="unit-narrow", locale=where)
    return pseudo(said) if locale == PSEUDO else said


def format_count(value: int, locale: str) -> str:
    return format_number(value, locale)


@functools.cache
def language_name(code: str, locale: str = DEFAULT) -> str:
    """A language's name in the reader's language ("es" for a French reader: "Espagnol")."""
    if not code:
        return ""
    try:
        name = babel_locale(locale).languages.get(Locale.parse(code.replace("-", "_")).language)
    except (ValueError, LookupError):
        name = None
    name = name or code
    name = name[:1].upper() + name[1:]
    return pseudo(name) if locale == PSEUDO else name
