"""English for timed spans of speech (sentences, scenes): each window of at most 30 s is translated
once, with timestamps, and every English segment goes to the span its middle falls in.

One encoder pass per window instead of one per sentence, and the translation sees whole sentences
in context, so it does not invent endings for a fragment.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import SpeechEngine
from .guards import WINDOW_SECONDS

PAD = 0.2  # seconds of audio kept around a window, so its first and last words are whole
SAMPLE_RATE = 16000
Span = tuple[float, float]


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
) -> list[str]:
    """English text for each span of ``audio`` ("" where the translation gave it nothing)."""
    english: list[str] = []
    duration = len(audio) / sample_rate
    for window in translation_windows(spans):
        start = max(spans[window[0]][0] - PAD, 0.0)
        end = min(spans[window[-1]][1] + PAD, duration)
        clip = audio[int(start * sample_rate) : int(end * sample_rate)]
        segments = engine.translate(clip, language) if len(clip) else []
        shifted = [(s.start + start, s.end + start, s.text) for s in segments]
        english += assign_to_spans(shifted, [spans[i] for i in window])
    return english


def assign_to_spans(
    segments: Sequence[tuple[float, float, str]], spans: Sequence[Span]
) -> list[str]:
    """Give each timed English segment to the span its middle falls in (the first span takes what
    comes before it, the last what comes after); a span left with nothing borrows the segment
    that overlaps it most, so no sentence is left without English when some was heard."""
    texts: list[list[str]] = [[] for _ in spans]
    for start, end, text in segments:
        middle = (start + end) / 2
        index = next(
            (i for i, span in enumerate(spans[:-1]) if middle < _boundary(spans, i)), len(spans) - 1
        )
        texts[index].append(text.strip())
    for i, span in enumerate(spans):
        if not texts[i]:
            overlaps = [
                (min(end, span[1]) - max(start, span[0]), text) for start, end, text in segments
            ]
            best = max(overlaps, default=(0.0, ""))
            if best[0] > 0:
                texts[i].append(best[1].strip())
    return [" ".join(t for t in parts if t) for parts in texts]


def _boundary(spans: Sequence[Span], i: int) -> float:
    """Where span i hands over to span i + 1: halfway through the pause between them."""
    return (spans[i][1] + spans[i + 1][0]) / 2
