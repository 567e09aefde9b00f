"""Breaking text into lines that fit, by the Unicode line breaking rules (UAX #14).

ICU's line breaker (icu4py) finds where a line may end: after a space, between two Chinese or
Japanese characters but never before 。 or 、, between Thai words (from its dictionary, as Thai
has no spaces between words), never inside a Devanagari cluster or an Arabic word. Lines are
filled greedily; a piece too wide for a line even alone (a very long word or number) is split
between two characters as the reader sees them (grapheme clusters), never inside one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from icu4py.breakers import CharacterBreaker, LineBreaker

Fits = Callable[[str], bool]  # whether a line of this text fits the width


def break_lines(text: str, fits: Fits, language: str = "") -> list[str]:
    """``text`` as lines that each ``fits`` (but for a single character wider than the line),
    in typing order; a line break typed in ``text`` is kept. Spaces that end a line are dropped."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for piece in _pieces(paragraph, fits, language):
            if line and not fits((line + piece).rstrip()):
                lines.append(line.rstrip())
                line = piece
            else:
                line += piece
        lines.append(line.rstrip())
    return lines


def _pieces(paragraph: str, fits: Fits, language: str) -> Iterator[str]:
    """The paragraph cut at every place a line may end; a piece too wide is cut further."""
    if not paragraph:
        return
    for piece in LineBreaker(paragraph, language or "und"):
        if fits(piece.rstrip()):
            yield piece
        else:
            yield from CharacterBreaker(piece, language or "und")


def clip(lines: list[str], max_lines: int, fits: Fits) -> list[str]:
    """At most ``max_lines`` lines, the last ending in an ellipsis that fits when some were cut."""
    max_lines = max(max_lines, 1)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = list(CharacterBreaker(kept[-1], "und"))
    while last and not fits("".join(last).rstrip(" .,;:、。，") + "…"):
        last.pop()
    kept[-1] = "".join(last).rstrip(" .,;:、。，") + "…"
    return kept
