"""Text made comparable before the word list reads it.

Every text (and every listed word) is read the same way: Unicode NFKC (full-width and styled
letters become plain ones), case folded, invisible characters removed (zero-width spaces and
joiners, soft hyphens, direction marks, Hangul fillers), decorative combining marks removed
("b̶l̶o̶o̶d̶", "zalgo" text) and Arabic vowel marks and the tatweel removed. Accents that are part
of a letter stay ("tué", "coño"); a listed word written without accents also matches the text's
word with its accents taken off ("blóód" is "blood").

Disguises are undone in extra readings of the same text (``readings``), so a disguise is found
without changing what an ordinary sentence means: digits and signs inside a word read as letters
("bl00d", "k1ll", "$ex"), a word cut by dots or hyphens is joined ("b.l.o.o.d", "bl-ood"), letters
spaced out are joined ("b l o o d"), long runs of one letter are shortened ("bloooood"), and
Cyrillic or Greek look-alike letters inside a Latin word read as Latin ("blооd" with Cyrillic o).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

# Characters that show nothing but can cut a word in two: every format character (Cf: zero-width
# space and joiners, soft hyphen, direction marks, tag characters), plus fillers and blanks that
# Unicode counts as letters or symbols, and variation selectors.
_NOT_FORMAT_INVISIBLE = set("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0") | {
    chr(c) for c in (*range(0x180B, 0x1810), *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0))
}
# Combining marks that decorate rather than spell once NFKC has composed what it can (a mark
# left over after composition sits on a letter no language writes with it), and Arabic harakat,
# Quranic marks and the tatweel (a stretching stroke), which vowel or lengthen a word without
# changing which word it is, and the Devanagari nukta (क़त्ल and कत्ल are one word, spelled two ways).
_DECORATIVE = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u093c]"
)
_ACCENTS = re.compile("[\u0300-\u036f]")
# Scripts written without spaces between words: a listed word is looked for anywhere in the text.
_UNSPACED = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)

# Digits and signs that stand for letters inside a word. "1" and "|" are read both ways.
_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s"}
_LEET |= {"€": "e", "+": "t", "!": "i"}
_LEET_ONE = ({"1": "i", "|": "l"}, {"1": "l", "|": "i"})
_LEET_CHARS = set(_LEET) | {"1", "|"}
# Cyrillic and Greek letters that look like Latin ones (lower case: the text is case-folded).
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁӏһԛԝкмнтвαοντικχυεβ",
    "aeopcyxijsdlhqwkmhtbaovtikxueb",
)
_LATIN = re.compile("[a-z]")
_LOOKALIKE_CHARS = re.compile("[аеорсухіјѕԁӏһԛԝкмнтвαοντικχυεβ]")
_REPEATS = re.compile(r"(\w)\1{2,}")


def fold(text: str) -> str:
    """The text as the word list reads it (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in text if not _invisible(c))
    return unicodedata.normalize("NFC", _DECORATIVE.sub("", text))


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or char in _NOT_FORMAT_INVISIBLE


def bare(word: str) -> str:
    """A folded word without its accents: "blóód" -> "blood", "tuée" -> "tuee"."""
    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFD", word)))


def has_accents(word: str) -> bool:
    return bare(word) != word


def is_unspaced(text: str) -> bool:
    """Whether ``text`` holds Chinese or Japanese characters (words are not spaced apart)."""
    return bool(_UNSPACED.search(text))


def compact(folded: str) -> str:
    """Letters and digits only: Chinese and Japanese text read as one run of characters, so a
    listed word is found across the spaces or signs put inside it."""
    return "".join(c for c in folded if _in_word(c))


def _in_word(char: str) -> bool:
    """Letters, digits and the marks that spell a word with them (Devanagari vowel signs: Python's
    ``\\w`` leaves them out, and cuts "लाश" into "ल" and "श")."""
    return char.isalnum() or unicodedata.category(char)[0] == "M"


def _words(text: str) -> list[str]:
    return ["".join(group) for is_word, group in itertools.groupby(text, _in_word) if is_word]


@dataclass(frozen=True)
class Token:
    word: str  # as the list compares it
    shown: str  # as the text has it, for the teacher


def tokens(folded: str) -> list[Token]:
    return [Token(word, word) for word in _words(folded)]


def readings(folded: str) -> Iterator[list[Token]]:
    """The text's words as written, then each reading that undoes a disguise, if it differs."""
    plain = tokens(folded)
    yield plain
    seen = {tuple(t.word for t in plain)}
    chunks = folded.split()
    for one in _LEET_ONE:
        for shorten in (2, 1):
            words = _joined_letters([_undisguised(chunk, one, shorten) for chunk in chunks])
            key = tuple(t.word for t in words)
            if key not in seen:
                seen.add(key)
                yield words


def _undisguised(chunk: str, one: dict[str, str], shorten: int) -> Token:
    """One space-separated piece of the text read without its disguise, as one word."""
    shown = chunk.strip(".,;:?!\"'()[]{}«»“”‘’…-_*")
    word = shown
    if _LATIN.search(word) and _LOOKALIKE_CHARS.search(word):
        word = word.translate(_LOOKALIKES)
    if any(c.isalpha() for c in word) and any(c in _LEET_CHARS for c in word):
        word = "".join(one.get(c) or _LEET.get(c) or c for c in word)
    word = _REPEATS.sub(lambda m: m.group(1) * shorten, compact(word))
    return Token(word, shown)


def _joined_letters(pieces: list[Token]) -> list[Token]:
    """Runs of three or more one-letter pieces ("b l o o d") joined into one word."""
    out: list[Token] = []
    run: list[Token] = []
    for piece in [*pieces, Token("", "")]:
        if len(piece.word) == 1 and piece.word.isalpha():
            run.append(piece)
            continue
        if len(run) >= 3:
            out.append(Token("".join(t.word for t in run), " ".join(t.shown for t in run)))
        else:
            out.extend(run)
        run = []
        if piece.word:
            out.append(piece)
    return out
