"""Search that ignores case and accents, the same on SQLite and PostgreSQL.

Each story and frame keeps its searchable text folded once, in Python, in a ``search_text``
column that the mapper events below refresh on every insert and update; a query is folded the
same way and matched with a plain LIKE. Neither database's own folding takes part (SQLite's only
knows ASCII, PostgreSQL's unaccent is an extension with rules of its own), so both behave alike.

Folding, for every script at once:
- compatibility forms become plain ones (full-width ``Ａ`` is ``a``, half-width ``ｶﾞ`` is ``ガ``,
  the ligature ``ﬁ`` is ``fi``) and case is folded (``ß`` is ``ss``, ``Σ`` and ``ς`` are ``σ``);
- accents are dropped where readers type without them: the combining diacritics of Latin,
  Greek and Cyrillic (``jardín`` is ``jardin``), and Arabic and Hebrew vowel points and the
  Arabic hamza carriers and tatweel (``كِتَاب`` is ``كتاب``, ``أ`` is ``ا``);
- every other mark stays, because there it is a letter of its own: Devanagari matras and nukta
  (``क़`` is not ``क``), Thai vowels and tones, the kana voicing marks (``ガ`` is not ``カ``).
  Text is recomposed afterwards, so a Hangul syllable is still one character and a Hindi word
  typed with a precomposed or a separate nukta finds the other.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import event

from .tables import Frame, Story

# Marks dropped by the folding (after NFKD); see the module's docstring for why these only.
_ACCENTS = re.compile(
    "["
    "\u0300-\u036f"  # combining diacritical marks (Latin, Greek, Cyrillic)
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"  # their extensions
    "\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"  # Hebrew points and cantillation
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"  # Arabic
    "\u0640"  # Arabic tatweel (a stretching stroke, not a letter)
    "]"
)
LIKE_SPECIALS = re.compile(r"([\\%_])")


def fold(text: str) -> str:
    """``text`` as the search compares it (see the module's docstring)."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return unicodedata.normalize("NFC", _ACCENTS.sub("", decomposed))


def query_words(query: str) -> list[str]:
    """The folded words of a search query, each to be found somewhere in a story."""
    return fold(query.replace("\x00", "")).split()


def like_pattern(word: str) -> str:
    """A LIKE pattern (escape character ``\\``) that finds ``word`` anywhere."""
    return "%" + LIKE_SPECIALS.sub(r"\\\1", word) + "%"


def story_search_text(title: str, class_name: str, transcript: str) -> str:
    return fold("\n".join((title or "", class_name or "", transcript or "")))


def frame_search_text(text: str, text_en: str) -> str:
    return fold("\n".join((text or "", text_en or "")))


@event.listens_for(Story, "before_insert")
@event.listens_for(Story, "before_update")
def _story_in_step(_mapper: Any, _connection: Any, story: Story) -> None:
    story.search_text = story_search_text(story.title, story.class_name, story.transcript)


@event.listens_for(Frame, "before_insert")
@event.listens_for(Frame, "before_update")
def _frame_in_step(_mapper: Any, _connection: Any, frame: Frame) -> None:
    frame.search_text = frame_search_text(frame.text, frame.text_en)
