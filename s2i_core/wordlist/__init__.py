"""The classroom word list: words that stop a picture before anything is sent to draw it.

Two lists apply to every frame. The school's list (``data/``: violence, weapons, gore, sexual
content, slurs and more, in English, Spanish, French, German, Hindi, Chinese, Japanese,
Portuguese and Arabic; its sources and review are in ``data/README.md``) always applies. A
teacher's list (the Word list page; each story keeps the one it was made with) adds words, and
lets chosen ones through with ``!``: "!knife" lets "knife" through, "!butter knife" only that
phrase.

A frame is checked as it is about to be drawn: its sentence, its English line, its scene and the
final picture prompt, each read after normalisation (normalise.py), word by word in every form
(forms.py) or, in Chinese and Japanese, character by character (matching.py). A frame that is
stopped says which words, and where, so a teacher can change them.

  normalise.py  Unicode folding, invisible characters, disguises (leetspeak, spaced letters)
  forms.py      word forms, with the Snowball stemmer of each language
  entries.py    the entry syntax, the data files and a teacher's list
  matching.py   finding entries in a text
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from .entries import SOURCE_NOTE, Entry, school_entries, school_languages
from .forms import SNOWBALL_LANGUAGES
from .matching import Hit, lists_for, matcher

__all__ = [
    "FIELDS",
    "SNOWBALL_LANGUAGES",
    "SOURCE_NOTE",
    "WORD_LIST_SETTING",
    "Entry",
    "Hit",
    "WordList",
    "classroom_words",
    "frame_stop_reason",
    "frame_stops",
    "parse_words",
    "school_entries",
    "school_languages",
    "stop_reason",
]

WORD_LIST_SETTING = "word_list"  # the library's classroom setting that holds a teacher's list
# What of a frame is checked, how the teacher is told where the word is, and which part it is
# (the sentence is in the story's language; the rest is English: see matching.lists_for).
FIELDS = (
    ("text", "the sentence", "sentence"),
    ("text_en", "the English line", "english"),
    ("scene", "the scene", "english"),
    ("prompt", "the picture prompt", "english"),
)
MAX_SHOWN = 6  # words named in one message; the rest are counted


@dataclass(frozen=True)
class WordList:
    """The school's list and a teacher's ``words``, for a story in ``language``."""

    words: tuple[str, ...] = ()
    language: str = "en"
    school: bool = True  # False: the teacher's words alone (the word list page's preview)

    def find(self, text: str, part: str = "any") -> list[Hit]:
        """The listed words ``text`` uses: a story's "sentence", an "english" line (the English
        line, the scene, the prompt) or "any" text (read by every list that may apply)."""
        return matcher(tuple(self.words), self.language, self.school, part).find(text)

    def hits(self, text: str, part: str = "any") -> list[str]:
        """The listed words (or phrases) that ``text`` uses, in any of their forms."""
        return sorted({hit.entry.text for hit in self.find(text, part)})


class FrameText(Protocol):
    text: str
    text_en: str
    scene: str
    prompt: str


def frame_stops(
    frame: FrameText | Any, words: tuple[str, ...] | list[str], language: str = "en"
) -> list[Hit]:
    """The listed words in each checked part of a frame, each found word once a part (words
    that match several entries, "मार डाला" with every form of the phrase listed, are one hit;
    the English line of an English sentence, equal to it, is read once)."""
    word_list, read, hits = WordList(tuple(words), language), set(), []
    for name, where, part in FIELDS:
        text = getattr(frame, name, "") or ""
        key = (text, tuple(sorted(lists_for(language, part))))
        if text.strip() and key not in read:
            read.add(key)
            found = {
                hit.found: Hit(hit.entry, hit.found, where) for hit in word_list.find(text, part)
            }
            hits += found.values()
    return hits


def frame_stop_reason(
    frame: FrameText | Any, words: tuple[str, ...] | list[str], language: str = "en"
) -> str:
    """Why the frame must not be drawn, for the teacher (which words, where), or ""."""
    hits = frame_stops(frame, words, language)
    if not hits:
        return ""
    places: dict[str, list[str]] = {}
    for hit in hits[:MAX_SHOWN]:
        places.setdefault(hit.where, []).append(_quoted(hit))
    said = "; ".join(f"{_and(found)} in {where}" for where, found in places.items())
    more = f" and {len(hits) - MAX_SHOWN} more" if len(hits) > MAX_SHOWN else ""
    return (
        f"Stopped by the classroom word list: {said}{more}. Change the words in “Fix this "
        "picture” (or let them through on the Word list page), then draw the picture again."
    )


def stop_reason(text: str, words: tuple[str, ...] | list[str] = (), language: str = "en") -> str:
    """Why a text must not be drawn (the listed words it uses), or "" when it may."""
    hits = WordList(tuple(words), language).hits(text)
    if not hits:
        return ""
    return (
        f"Stopped by the classroom word list ({', '.join(hits)}). "
        "Edit the sentence or the word list, then generate this frame again."
    )


def parse_words(text: str) -> tuple[str, ...]:
    """A teacher's comma- or line-separated word list."""
    return tuple(w.strip() for w in re.split(r"[,\n]", text) if w.strip())


def classroom_words(library: Any) -> tuple[str, ...]:
    """The words teachers keep in the app (none until a list is saved)."""
    words = library.classroom_setting(WORD_LIST_SETTING, None)
    return tuple(words) if isinstance(words, list) else ()


def _quoted(hit: Hit) -> str:
    """The words as found; with the listed word when they do not plainly start with it."""
    listed = hit.entry.text
    plain = hit.found.startswith(listed[:4]) or listed in hit.found.split()
    return f"“{hit.found}”" if plain else f"“{hit.found}” (listed: {listed})"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
