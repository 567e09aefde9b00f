"""The entries of a word list: the school's list (data files, one a language) and a teacher's.

An entry is one line (a data file) or one comma-separated item (a teacher's list):

    kill          the word and its other forms, by the stemmer of the entry's language
    =mata         only this exact word (its stem is shared with ordinary words)
    blood*        any word that begins so
    shot dead     the words one after the other, each in any of its forms
    !butter knife (a teacher's list) let this through: a listed word inside it does not count
    杀人           Chinese or Japanese: found anywhere in the text (no spaces between words)

A data file groups its entries under ``[category]`` lines; ``[allow]`` holds the phrases that are
not a match although they hold a listed word ("killer whale"). ``#`` starts a comment.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .normalise import fold, is_unspaced

DATA_DIR = Path(__file__).parent / "data"
ALLOW = "allow"  # the category of phrases let through
TEACHER = "teacher"  # the category of a teacher's own words
SOURCE_NOTE = DATA_DIR / "README.md"


@dataclass(frozen=True)
class Entry:
    text: str  # folded, as written in the list (without its = or * or !)
    category: str  # violence, weapons, gore, sexual, slurs, ... or "allow" / "teacher"
    language: str | None  # the list it came from; None: a teacher's (every story language)
    exact: bool = False  # "=word": no other forms
    prefix: bool = False  # "word*": any word beginning so

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.split())

    @property
    def unspaced(self) -> bool:
        """Chinese or Japanese: looked for as a run of characters, not as words."""
        return is_unspaced(self.text)

    @property
    def allows(self) -> bool:
        return self.category == ALLOW


def parse_entry(item: str, category: str, language: str | None) -> Entry | None:
    item = " ".join(fold(item).split())
    if item.startswith("!"):
        item, category = item[1:].strip(), ALLOW
    exact = item.startswith("=")
    item = item.lstrip("=").strip()
    prefix = item.endswith("*") and " " not in item
    item = item.rstrip("*").strip()
    if not item:
        return None
    return Entry(item, category, language, exact=exact, prefix=prefix)


def teacher_entries(words: tuple[str, ...]) -> tuple[Entry, ...]:
    """A teacher's list: words that also stop a picture, and ``!words`` let through."""
    parsed = (parse_entry(word, TEACHER, None) for word in words)
    return tuple(entry for entry in parsed if entry is not None)


@functools.cache
def school_entries() -> tuple[Entry, ...]:
    """Every entry of the school's list, all languages (read once per process)."""
    return tuple(entry for path in sorted(DATA_DIR.glob("*.txt")) for entry in read_file(path))


def school_languages() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in DATA_DIR.glob("*.txt")))


def read_file(path: Path) -> list[Entry]:
    """The entries of one language's data file (``en.txt``: English)."""
    entries, category = [], "other"
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            category = line[1:-1].strip().lower()
            continue
        if line.startswith("!"):
            raise ValueError(f"{path.name}:{number}: put phrases to let through under [allow]")
        entry = parse_entry(line, category, path.stem)
        if entry is not None:
            entries.append(entry)
    return entries
