"""Word forms: a listed word also stops its other forms ("kill": killed, kills, killing), found
with the Snowball stemmer of the word's language, and a word of the text is compared in every
form, with and without its accents."""

from __future__ import annotations

import functools
import threading
from typing import Any

from .normalise import bare

SNOWBALL_LANGUAGES = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german",
    "el": "greek", "en": "english", "es": "spanish", "eu": "basque", "fi": "finnish",
    "fr": "french", "ga": "irish", "hi": "hindi", "hu": "hungarian", "hy": "armenian",
    "id": "indonesian", "it": "italian", "lt": "lithuanian", "ne": "nepali", "nl": "dutch",
    "no": "norwegian", "nb": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil",
    "tr": "turkish", "yi": "yiddish",
}  # fmt: skip

# The accented letters of a language's own words. A word with other accents (in an English story,
# "blóód") is also read without them; a word spelled with its language's letters is not (in a
# Turkish story "gün", a day, is not "gun"). A language not named here: every accent is its own.
NATIVE_LETTERS = {
    "en": "", "es": "áéíóúñü", "fr": "àâäçéèêëîïôöûùüÿœæ", "de": "äöü", "pt": "áâãàçéêíóôõúü",
    "it": "àèéìíîòóùú", "nl": "áéèëíïóöúü", "ca": "àçéèíïóòúü", "id": "", "sw": "",
}  # fmt: skip


def language_code(language: str | None) -> str:
    """ "pt-BR", "zh_TW", "EN" -> "pt", "zh", "en"; empty or unknown -> "en"."""
    code = (language or "en").strip().lower().replace("_", "-").split("-")[0]
    return code or "en"


def stemmed_languages(language: str | None) -> tuple[str, ...]:
    """The languages whose stemmer reads a story's text: English (it turns up everywhere: the
    English line, the scene, the prompt) and the story's own, where Snowball has a stemmer."""
    code = language_code(language)
    return tuple(dict.fromkeys(("en", code if code in SNOWBALL_LANGUAGES else "en")))


def entry_forms(word: str, languages: tuple[str, ...], exact: bool) -> frozenset[str]:
    """The forms a listed word matches: itself and, unless ``exact``, its stem in each language."""
    forms = {f"w:{word}"}
    if not exact:
        forms |= {f"s:{code}:{stem(word, code)}" for code in languages}
    return frozenset(forms)


def native_letters(language: str | None) -> str | None:
    """The accented letters of the story language's own words; None: any accent may be."""
    return NATIVE_LETTERS.get(language_code(language))


@functools.lru_cache(maxsize=65536)
def text_forms(word: str, languages: tuple[str, ...], native: str | None) -> frozenset[str]:
    """A word of the text as itself, without accents foreign to the story's language (``native``
    letters), and its stems. A stem of three letters or fewer counts only for a longer word, so
    French "tu" (you) is not taken for "tuer" (to kill), nor English "mat" for Spanish "matar"."""
    foreign = native is not None and any(c not in native and bare(c) != c for c in word)
    plain = bare(word) if foreign else word
    forms = {f"w:{word}", f"w:{plain}"}
    candidates = {word, plain}
    if word.endswith("ves") and len(word) > 4:
        candidates |= {word[:-3] + "f", word[:-3] + "fe"}  # English: knives, wolves
    if "de" in languages and word.startswith("ge") and len(word) > 5:
        candidates.add(word[2:])  # German participles: getötet -> tötet
    for candidate in candidates:
        for code in languages:
            found = stem(candidate, code)
            if len(found) > 3 or len(word) > len(found):
                forms.add(f"s:{code}:{found}")
    return frozenset(forms)


def stem(word: str, code: str) -> str:
    return _stem(word, SNOWBALL_LANGUAGES[code]) if code in SNOWBALL_LANGUAGES else word


@functools.lru_cache(maxsize=65536)
def _stem(word: str, algorithm: str) -> str:
    return _stemmer(algorithm).stemWord(word)


_STEMMERS = threading.local()  # a Snowball stemmer keeps state while it works: one per thread


def _stemmer(algorithm: str) -> Any:
    import snowballstemmer

    stemmers = _STEMMERS.__dict__.setdefault("by_algorithm", {})
    if algorithm not in stemmers:
        stemmers[algorithm] = snowballstemmer.stemmer(algorithm)
    return stemmers[algorithm]
