"""English for timed spans of speech (sentences, scenes): each window of at most 30 s is translated
once, with timestamps, every English segment goes to the span its middle falls in, and each span's
line is checked before anyone uses it (english_lines.py).

One encoder pass per window instead of one per sentence, and the translation sees whole sentences
in context, so it does not invent endings for a fragment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar

import numpy as np

from .base import Segment, SpeechEngine
from .english_lines import EnglishLine, LineChecks, check_segments
from .guards import WINDOW_SECONDS

PAD = 0.2  # seconds of audio kept around a window, so its first and last words are whole
SAMPLE_RATE = 16000
Span = tuple[float, float]
T = TypeVar("T")


def translation_windows(spans: Sequence[Span], max_seconds: float = WINDOW_SECONDS) -> list[range]:
    """Runs of consecutive spans whose audio (first start to last end) fits in ``max_seconds``;
    a single longer span makes a run of its own."""
    windows: list[range] = []
    first = 0
    for i in range(1, len(spans) + 1):
        if i == len(spans) or spans[i][1] - spans[first][0] > max_seconds:
            windows.append(range(first, i))
            first = i
    return windows


def english_for_spans(
    engine: SpeechEngine,
    audio: np.ndarray,
    spans: Sequence[Span],
    language: str,
    sample_rate: int = SAMPLE_RATE,
    checks: LineChecks | None = None,
) -> list[EnglishLine]:
    """The checked English line of each span of ``audio`` (text "" where the translation gave it
    nothing; a problem where the line cannot be trusted)."""
    english: list[EnglishLine] = []
    duration = len(audio) / sample_rate
    for window in translation_windows(spans):
        start = max(spans[window[0]][0] - PAD, 0.0)
        end = min(spans[window[-1]][1] + PAD, duration)
        clip = audio[int(start * sample_rate) : int(end * sample_rate)]
        segments = engine.translate(clip, language) if len(clip) else []
        window_spans = [spans[i] for i in window]
        shifted = [
            part
            for s in segments
            for part in split_over_spans(
                replace(s, start=s.start + start, end=s.end + start), window_spans
            )
        ]
        given = spread_over_spans([(s.start, s.end, s) for s in shifted], window_spans)
        english += [
            check_segments(g, span, checks) for g, span in zip(given, window_spans, strict=True)
        ]
    return english


def assign_to_spans(
    segments: Sequence[tuple[float, float, str]], spans: Sequence[Span]
) -> list[str]:
    """The text of ``spread_over_spans``: each span's English, its segments joined."""
    given = spread_over_spans([(start, end, text) for start, end, text in segments], spans)
    return [" ".join(t for t in (text.strip() for text in texts) if t) for texts in given]


def spread_over_spans(
    timed: Sequence[tuple[float, float, T]], spans: Sequence[Span]
) -> list[list[T]]:
    """Give each timed item to the span its middle falls in (the first span takes what comes
    before it, the last what comes after); a span left with nothing borrows the item that
    overlaps it most, so no sentence is left without English when some was heard."""
    given: list[list[T]] = [[] for _ in spans]
    for start, end, item in timed:
        middle = (start + end) / 2
        index = next(
            (i for i, span in enumerate(spans[:-1]) if middle < _boundary(spans, i)), len(spans) - 1
        )
        given[index].append(item)
    for i, span in enumerate(spans):
        if not given[i]:
            overlaps = [
                (min(end, span[1]) - max(start, span[0]), n)
                for n, (start, end, _) in enumerate(timed)
            ]
            best = max(overlaps, default=(0.0, -1))
            if best[0] > 0:
                given[i].append(timed[best[1]][2])
    return given


def split_over_spans(segment: Segment, spans: Sequence[Span]) -> list[Segment]:
    """An English segment that covers several spans (a run-on cut into sentences, translated as
    one line) cut at its own punctuation where the spans meet, in proportion to time: "The dog
    ate a red apple, | then the cat slept in the house." One segment when it covers one span,
    or has too few places to cut (every span it covers then borrows the whole line)."""
    covered = [i for i, span in enumerate(spans) if _covers(segment, span)]
    if len(covered) < 2:
        return [segment]
    text = segment.text.strip()
    places = [m.end() for m in re.finditer(r"[,;:.!?…](?=\s)", text)]
    length, seconds = len(text), max(segment.end - segment.start, 1e-6)
    cuts: list[int] = []
    for i in covered[:-1]:
        share = (_boundary(spans, i) - segment.start) / seconds
        later = [p for p in places if not cuts or p > cuts[-1]]
        if not later:
            return [segment]
        cuts.append(min(later, key=lambda p: abs(p / length - share)))
    times = [segment.start, *(_boundary(spans, i) for i in covered[:-1]), segment.end]
    texts = [text[a:b].strip() for a, b in zip([0, *cuts], [*cuts, length], strict=True)]
    return [
        replace(segment, start=times[k], end=times[k + 1], text=f" {texts[k]}")
        for k in range(len(texts))
    ]


def _covers(segment: Segment, span: Span) -> bool:
    """Whether the segment holds most of the span's time."""
    overlap = min(segment.end, span[1]) - max(segment.start, span[0])
    return overlap >= 0.5 * (span[1] - span[0]) > 0


def _boundary(spans: Sequence[Span], i: int) -> float:
    """Where span i hands over to span i + 1: halfway through the pause between them."""
    return (spans[i][1] + spans[i + 1][0]) / 2
