"""Run-on speech cut where the speaker paused: one picture per sentence, also when Whisper wrote
commas where the speaker ended sentences (noisy audio, a flat voice, a child telling "and then,
and then").

A sentence longer than ``RunOnLimits`` allows is cut at every clause mark (, ; : 、 ， ؛ …)
followed by a pause in the word times of the same Whisper pass, never leaving a clause too short
to stand alone. A long sentence the speaker said without pausing stays whole; the teacher can
still merge or split any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..speech import Word

# marks that may end a clause, in the scripts Whisper writes (Arabic and Urdu comma and
# semicolon, CJK commas and the ideographic comma, dashes)
CLAUSE_MARKS = ",;:、，；：،؛—–"
_CLOSERS = "\"'”’»)]}」』"
UNSPACED = frozenset({"zh", "yue", "ja", "th", "lo", "km", "my", "bo"})  # words not spaced apart


@dataclass(frozen=True)
class RunOnLimits:
    """When a sentence is a run-on, and where it may be cut."""

    # Words beyond which a sentence is a run-on: told stories average 10 to 15 words a sentence.
    max_words: int = 25
    # Seconds of speech beyond which a sentence is a run-on (scripts without spaces have no
    # word count, only this).
    max_seconds: float = 8.0
    # Silence after a clause mark that counts as a pause: Whisper's word times are good to about
    # a tenth of a second, and the gap between two words said in one breath is near zero.
    min_pause: float = 0.2
    # Fewest words (seconds, in scripts without spaces) a clause needs to be a picture alone.
    min_words: int = 4
    min_seconds: float = 1.5


def is_spaced(language: str | None) -> bool:
    """Whether the language's words are spaced apart (so they can be counted)."""
    return (language or "").lower().split("-")[0] not in UNSPACED


def is_run_on(words: Sequence[Word], limits: RunOnLimits, spaced: bool = True) -> bool:
    if not words:
        return False
    too_many = spaced and len(_text(words).split()) > limits.max_words
    return too_many or _seconds(words) > limits.max_seconds


def clause_cuts(
    words: Sequence[Word], limits: RunOnLimits, spaced: bool = True, run_on: bool = False
) -> list[int]:
    """Word counts after which a run-on is cut: each clause mark followed by a pause, where
    neither side is left shorter than a clause may be. [] for a sentence that is no run-on
    (``run_on``: known to be the rest of one, however short)."""
    if not (run_on or is_run_on(words, limits, spaced)):
        return []
    cuts: list[int] = []
    for k in range(1, len(words)):
        clause = words[cuts[-1] if cuts else 0 : k]
        if _paused_clause_end(words, k, limits) and _long_enough(clause, limits, spaced):
            cuts.append(k)
    while cuts and not _long_enough(words[cuts[-1] :], limits, spaced):
        cuts.pop()  # the last clause is too short alone: it stays with the one before
    return cuts


def _paused_clause_end(words: Sequence[Word], k: int, limits: RunOnLimits) -> bool:
    mark = words[k - 1].word.rstrip().rstrip(_CLOSERS)[-1:]
    return mark in CLAUSE_MARKS and words[k].start - words[k - 1].end >= limits.min_pause


def _long_enough(words: Sequence[Word], limits: RunOnLimits, spaced: bool) -> bool:
    if spaced:
        return len(_text(words).split()) >= limits.min_words
    return _seconds(words) >= limits.min_seconds


def _text(words: Sequence[Word]) -> str:
    return "".join(w.word for w in words)


def _seconds(words: Sequence[Word]) -> float:
    return max(w.end for w in words) - words[0].start
