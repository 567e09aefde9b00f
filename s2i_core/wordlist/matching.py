"""Finding a word list's entries in a text.

Languages written with spaces are read word by word: an entry matches whole words in any of
their forms, never part of a longer word ("Scunthorpe", "Sussex", "grape", "skill" pass), and a
phrase matches its words one after the other. Chinese and Japanese have no spaces between words,
so their entries are found anywhere in the text; they are chosen long enough not to sit inside an
ordinary word, and ``[allow]`` phrases ("水鉄砲", a water pistol) are taken out first.

Which lists read a text: see ``lists_for``. A teacher's words read every text, in English and the
story's language.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field

from .entries import Entry, school_entries, teacher_entries
from .forms import entry_forms, language_code, native_letters, stemmed_languages, text_forms
from .normalise import Token, compact, fold, is_unspaced, readings


@dataclass(frozen=True)
class Hit:
    entry: Entry  # the listed word (or phrase) found
    found: str  # the words of the text that matched, as written there (folded)
    where: str = ""  # "the sentence", "the English line", "the scene", "the picture prompt"


@dataclass(frozen=True)
class _Phrase:
    entry: Entry
    forms: tuple[frozenset[str], ...]  # of each word

    def matches(self, text: list[frozenset[str]], start: int) -> bool:
        if start + len(self.forms) > len(text):
            return False
        return all(text[start + i] & want for i, want in enumerate(self.forms))


@dataclass
class _Index:
    """Entries by the forms of their first word, for one kind (stopping or letting through)."""

    by_form: dict[str, list[_Phrase]] = field(default_factory=lambda: defaultdict(list))
    prefixes: list[Entry] = field(default_factory=list)
    unspaced: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry, languages: tuple[str, ...]) -> None:
        if entry.unspaced:
            self.unspaced.append(entry)
        elif entry.prefix:
            self.prefixes.append(entry)
        else:
            own = languages if entry.language is None else (entry.language,)
            phrase = _Phrase(entry, tuple(entry_forms(w, own, entry.exact) for w in entry.words))
            for form in phrase.forms[0]:
                self.by_form[form].append(phrase)

    def at(self, tokens: list[Token], forms: list[frozenset[str]], start: int) -> list[Hit]:
        """The entries that match the text's words from ``start`` on."""
        phrases = {id(p): p for form in forms[start] for p in self.by_form.get(form, ())}
        hits = [
            Hit(p.entry, " ".join(t.shown for t in tokens[start : start + len(p.forms)]))
            for p in phrases.values()
            if p.matches(forms, start)
        ]
        word = tokens[start].word
        for entry in self.prefixes:
            if word.startswith(entry.text):
                hits.append(Hit(entry, tokens[start].shown))
        return hits


@dataclass
class Matcher:
    languages: tuple[str, ...]  # whose stemmers read the text
    native: str | None  # the accented letters of the story language (see forms.py)
    stop: _Index = field(default_factory=_Index)
    allow: _Index = field(default_factory=_Index)

    def find(self, text: str) -> list[Hit]:
        """The listed entries the text uses, each once, in the order found."""
        folded = fold(text)
        hits = [hit for words in readings(folded) for hit in self._in_words(words)]
        if is_unspaced(folded):
            hits += self._in_characters(compact(folded))
        found: dict[str, Hit] = {}
        for hit in hits:
            found.setdefault(hit.entry.text, hit)
        return list(found.values())

    def _in_words(self, tokens: list[Token]) -> list[Hit]:
        forms = [text_forms(t.word, self.languages, self.native) for t in tokens]
        let_through: set[int] = set()
        for start in range(len(tokens)):
            for hit in self.allow.at(tokens, forms, start):
                let_through.update(range(start, start + len(hit.entry.words)))
        hits = []
        for start in range(len(tokens)):
            for hit in self.stop.at(tokens, forms, start):
                if not let_through.intersection(range(start, start + len(hit.entry.words))):
                    hits.append(hit)
        return hits

    def _in_characters(self, run: str) -> list[Hit]:
        for entry in self.allow.unspaced:
            run = run.replace(entry.text, "\x00" * len(entry.text))
        return [Hit(entry, entry.text) for entry in self.stop.unspaced if entry.text in run]


PARTS = ("sentence", "english", "any")  # what a text is: see lists_for


def lists_for(language: str | None, part: str) -> set[str]:
    """The school lists that read a text: the story language's reads its sentences, English's the
    English line, the scene and the prompt (and the sentences of an English story); "any" text
    is read by both. Each list reads only text of its own language, because its words can be
    ordinary words in another (French "sang" is blood; in English it is the past of "sing")."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    code = language_code(language)
    return {"en"} if part == "english" else {code} if part == "sentence" else {"en", code}


@functools.lru_cache(maxsize=256)
def matcher(
    words: tuple[str, ...], language: str | None, school: bool = True, part: str = "any"
) -> Matcher:
    """The matcher of a teacher's ``words`` (with the school's list, unless ``school`` is off)
    for ``part`` of a story in ``language``; built once per list, language and part. Chinese and
    Japanese lists read every text (wherever their characters are, see Matcher.find)."""
    languages = stemmed_languages(language)
    reads = lists_for(language, part)
    chosen = [e for e in school_entries() if school and (e.unspaced or e.language in reads)]
    result = Matcher(languages, native_letters(language))
    for entry in (*chosen, *teacher_entries(words)):
        (result.allow if entry.allows else result.stop).add(entry, languages)
    return result
