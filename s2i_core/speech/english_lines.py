"""Whether an English line from Whisper's translation can be trusted before it is drawn or printed.

On speech it cannot follow (a voice it hears poorly, a language it is unsure of) Whisper's
translation still writes fluent English, learnt from the subtitles of online videos: "Thanks for
watching!", the same sentence three times, a line far longer than the speech. ``check_line`` turns
each translated span into an ``EnglishLine`` that says what, if anything, is wrong with it, and a
line with a problem is never used: the scene writer or the teacher gives that sentence its English.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .base import Segment
from .guards import compression_ratio

PHRASES_FILE = Path(__file__).with_name("hallucinations.txt")


@dataclass(frozen=True)
class EnglishLine:
    """Whisper's English for one span of speech, and why it cannot be used ("" when it can)."""

    text: str
    problem: str = ""

    @property
    def usable(self) -> bool:
        return bool(self.text) and not self.problem


@dataclass(frozen=True)
class LineChecks:
    """What an English line must keep to (the defaults were measured on the espeak-ng
    recordings of tests/fixtures and slower and faster takes of them, with Whisper base;
    bench/languages.py shows what they keep and leave out)."""

    # Mean token log probability under which a translation is a guess: faithful lines of the
    # test recordings scored -1.02 to -1.12, invented ones -1.44 to -2.1 (translation always
    # scores lower than transcription, whose own threshold is -1.0).
    min_avg_logprob: float = -1.3
    # gzip compression ratio above which a line repeats itself (Whisper's own threshold).
    max_compression_ratio: float = 2.4
    # English words one second of speech can hold: fast speech is about 3.5, so more is text the
    # audio never held ...
    max_words_per_second: float = 4.5
    # ... beyond these, which any line may have (a short span: "Yes, Mum, I am coming home!").
    spare_words: int = 5
    # Fewest English words a second of speech gives (slow speech, long pauses): a line under
    # this, less one word, dropped most of what was said.
    min_words_per_second: float = 0.5


def check_line(
    text: str, seconds: float, avg_logprob: float = 0.0, checks: LineChecks | None = None
) -> EnglishLine:
    """``text``, Whisper's English for ``seconds`` of speech decoded with ``avg_logprob``, with
    the first problem found (a sentence a teacher can read), or none."""
    checks = checks or LineChecks()
    text = " ".join(text.split())
    if not text:
        return EnglishLine("")
    problem = (
        _known_phrase(text)
        or _repetition(text, checks)
        or _length_problem(text, seconds, checks)
        or _guess(avg_logprob, checks)
    )
    return EnglishLine(text, problem)


def check_segments(
    segments: Sequence[Segment], span: tuple[float, float], checks: LineChecks | None = None
) -> EnglishLine:
    """The English segments given to one span, joined into its line and checked (their log
    probability weighted by how much text each gave; a line borrowed from a longer stretch of
    speech is measured against that stretch)."""
    said = [s for s in segments if s.text.strip()]
    if not said:
        return EnglishLine("")
    weights = [len(s.text.strip()) for s in said]
    logprob = sum(w * s.avg_logprob for w, s in zip(weights, said, strict=True)) / sum(weights)
    seconds = max(span[1] - span[0], sum(s.end - s.start for s in said))
    return check_line(" ".join(s.text.strip() for s in said), seconds, logprob, checks)


# --- the checks ------------------------------------------------------------------------------
def _known_phrase(text: str) -> str:
    words = f" {_words(text)} "
    for phrase in known_phrases():
        if f" {phrase} " in words:
            return f"it has a phrase Whisper invents on unclear audio (“{phrase}”)"
    return ""


def _repetition(text: str, checks: LineChecks) -> str:
    sentences = [_words(s) for s in re.split(r"(?<=[.!?;…])\s+", text)]
    said = [s for s in sentences if len(s.split()) >= 3]
    if len(said) != len(set(said)):
        return "it says the same sentence more than once"
    words = _words(text).split()
    for size in range(3, len(words) // 2 + 1):
        for start in range(len(words) - 2 * size + 1):
            if words[start : start + size] == words[start + size : start + 2 * size]:
                return "it says the same words twice in a row"
    if compression_ratio(text) > checks.max_compression_ratio:
        return "it repeats itself"
    return ""


def _length_problem(text: str, seconds: float, checks: LineChecks) -> str:
    count = len(text.split())
    most = math.ceil(max(seconds, 0.0) * checks.max_words_per_second) + checks.spare_words
    fewest = int(max(seconds, 0.0) * checks.min_words_per_second) - 1
    if count > most:
        return f"it is far longer than {seconds:.1f} s of speech can hold ({count} words)"
    if count < fewest:
        words = "one word" if count == 1 else f"{count} words"
        return f"it is far shorter than {seconds:.1f} s of speech ({words})"
    return ""


def _guess(avg_logprob: float, checks: LineChecks) -> str:
    if avg_logprob < checks.min_avg_logprob:
        return "Whisper was guessing (its translation scored too low)"
    return ""


# --- helpers ---------------------------------------------------------------------------------
@cache
def known_phrases() -> tuple[str, ...]:
    """The phrases of hallucinations.txt, as matched (lower case, no accents or punctuation)."""
    lines = PHRASES_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(_words(line) for line in lines if line.strip() and not line.startswith("#"))


def _words(text: str) -> str:
    """Lower case, accents and punctuation gone, one space between words ("Don't" -> "don t")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", letters).split())
