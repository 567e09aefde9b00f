"""Guards against runaway decoding that every engine applies: how repetitive a text is, where a
token loop starts, and how many tokens a stretch of audio can honestly need."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence

WINDOW_SECONDS = 30.0  # Whisper hears audio in windows of this length
MAX_TOKENS = 448  # Whisper's decoder context, prompt included
LOOP_REPEATS = 3  # a unit said this many times in a row is a loop, not speech


def compression_ratio(text: str) -> float:
    """Whisper's repetition measure: long text that gzip shrinks a lot repeats itself."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def token_budget(seconds: float, tokens_per_second: float, prompt_length: int = 4) -> int:
    """New tokens one window may take: enough for fast speech in any script (timestamps
    included), too few for a loop to run until the decoder's context is full."""
    seconds = min(max(seconds, 1.0), WINDOW_SECONDS)
    return min(16 + math.ceil(tokens_per_second * seconds), MAX_TOKENS - prompt_length - 1)


def loop_start(tokens: Sequence[int], max_unit: int = 32) -> int | None:
    """Index where a unit of 1..max_unit tokens starts repeating itself LOOP_REPEATS times in a
    row (the first copy is kept: the loop starts at its second copy), or None."""
    n = len(tokens)
    for start in range(n):
        for unit in range(1, max_unit + 1):
            end = start + unit * LOOP_REPEATS
            if end > n:
                break
            first = tokens[start : start + unit]
            if all(
                tokens[start + k * unit : start + (k + 1) * unit] == first
                for k in range(1, LOOP_REPEATS)
            ):
                return start + unit
    return None


def cut_before_loop(tokens: list[int], is_timestamp: Callable[[int], bool]) -> list[int]:
    """The tokens up to the last whole timed segment before a loop (all of them when there is
    none); [] when the loop starts in the first segment. The result ends in a single timestamp,
    which tells the decoder that the rest of the window holds no more speech."""
    start = loop_start(tokens)
    if start is None:
        return tokens
    kept = list(tokens[:start])
    while kept and not (is_timestamp(kept[-1]) and len(kept) > 1 and not is_timestamp(kept[-2])):
        kept.pop()
    return kept
