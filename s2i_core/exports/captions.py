"""Text drawn into pictures (the video's captions and cards), shaped like the PDF's.

Pillow lays text out with libraqm (HarfBuzz shaping and FriBiDi ordering), so Devanagari
conjuncts join, Arabic letters connect, and right-to-left lines read from the right. Each line is
split into runs by font, the PDF's per-character fallback: a Latin name inside a Hindi or Arabic
sentence is set in DejaVu Sans, the rest in its script's Noto font.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from fontTools.ttLib import TTFont
from PIL import ImageDraw, ImageFont, features

from ..errors import ExportError
from .text import FONT, font_family, font_path, is_right_to_left

NEUTRAL = {"WS", "ON", "CS", "ES", "ET", "BN", "S", "B"}  # spaces and punctuation
RIGHT_TO_LEFT = {"R", "AL"}


@dataclass(frozen=True)
class Run:
    text: str
    font: ImageFont.FreeTypeFont
    width: float
    direction: str  # "rtl" or "ltr": how the run's own letters go
    strong: bool  # has letters or digits, not only spaces and punctuation


def require_shaping() -> None:
    """Raise unless Pillow can shape text: without libraqm, Arabic and Devanagari come out as
    unjoined letters, which is worse than no caption at all."""
    if not features.check("raqm"):
        raise ExportError(
            "Captions cannot be shaped on this computer: Pillow found no libraqm/FriBiDi. "
            "Install the system package libfribidi0 (Debian/Ubuntu) and try again."
        )


@lru_cache(maxsize=64)
def font(family: str, style: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        str(font_path(family, style)), size, layout_engine=ImageFont.Layout.RAQM
    )


@cache
def _covered(family: str) -> frozenset[int]:
    with TTFont(font_path(family), lazy=True) as ttf:
        return frozenset(ttf.getBestCmap())


def runs(text: str, style: str, size: int) -> list[Run]:
    """``text`` in logical order, cut where the font or the direction changes. Spaces and
    punctuation join the letters around them when those agree; between two that differ they
    stand alone, so a Latin name or a date in an Arabic line keeps its spaces where they belong."""
    family = font_family(text)
    kinds: list[tuple[str, str] | None] = []  # (font, direction) of each character; None: neutral
    for char in text:
        bidi = unicodedata.bidirectional(char)
        if bidi == "NSM" and kinds:  # a mark stays with its letter
            kinds.append(kinds[-1])
        elif bidi in NEUTRAL:
            kinds.append(None)
        else:
            chosen = family if ord(char) in _covered(family) else FONT
            kinds.append((chosen, "rtl" if bidi in RIGHT_TO_LEFT else "ltr"))
    pieces: list[tuple[tuple[str, str, bool], str]] = []
    for i, char in enumerate(text):
        key = (*kinds[i], True) if kinds[i] else _neutral_key(char, kinds, i, family)
        if pieces and pieces[-1][0] == key:
            pieces[-1] = (key, pieces[-1][1] + char)
        else:
            pieces.append((key, char))
    result = []
    for (run_family, direction, strong), piece in pieces:
        face = font(run_family, style, size)
        width = face.getlength(piece, direction=direction)
        result.append(Run(piece, face, width, direction, strong))
    return result


def _neutral_key(char: str, kinds: list, i: int, family: str) -> tuple[str, str, bool]:
    before = next((k for k in reversed(kinds[:i]) if k), None)
    after = next((k for k in kinds[i + 1 :] if k), None)
    around = before if after in (None, before) else after if before is None else None
    if around and ord(char) in _covered(around[0]):
        return (*around, True)
    return (family if ord(char) in _covered(family) else FONT), "ltr", False


def visual_order(pieces: list[Run], rtl: bool) -> list[Run]:
    """Runs from left to right: a simple form of the Unicode bidi algorithm. Runs that go
    against the line's direction (a name or a date in an Arabic line), with the spaces between
    them, form one stretch that keeps its own order; the line's stretches are then laid out in
    its direction."""
    against = "ltr" if rtl else "rtl"
    strong = [run.direction == against if run.strong else None for run in pieces]
    for i, flag in enumerate(strong):
        if flag is None:  # a space joins a stretch only when it lies inside one
            before = next((f for f in reversed(strong[:i]) if f is not None), False)
            after = next((f for f in strong[i + 1 :] if f is not None), False)
            strong[i] = bool(before and after)
    stretches: list[tuple[bool, list[Run]]] = []
    for run, flag in zip(pieces, strong, strict=True):
        if stretches and stretches[-1][0] == flag:
            stretches[-1][1].append(run)
        else:
            stretches.append((flag, [run]))
    ordered: list[Run] = []
    for flag, stretch in reversed(stretches) if rtl else stretches:
        ordered += stretch if flag == rtl else stretch[::-1]
    return ordered


def text_width(text: str, style: str, size: int) -> float:
    return sum(run.width for run in runs(text, style, size))


def wrap(text: str, style: str, size: int, width: float) -> list[str]:
    """Lines at most ``width`` pixels wide, broken at spaces (a too-long word is kept whole)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and text_width(candidate, style, size) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def draw_line(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: tuple[float, float],
    top: float,
    style: str,
    size: int,
    fill: tuple[int, ...],
    align: str = "start",
    rtl: bool | None = None,
) -> None:
    """One line between x = box[0] and box[1], its top at ``top``; ``align`` is "start" (left,
    or right for right-to-left text) or "center". ``rtl`` is the paragraph's direction (a line
    of a right-to-left paragraph may start with a Latin word); by default, the line's own."""
    pieces = runs(text, style, size)
    total = sum(run.width for run in pieces)
    rtl = is_right_to_left(text) if rtl is None else rtl
    left, right = box
    x = {"center": (left + right - total) / 2}.get(align, right - total if rtl else left)
    ascent = max(run.font.getmetrics()[0] for run in pieces) if pieces else 0
    for run in visual_order(pieces, rtl):
        draw.text(
            (x, top + ascent),
            run.text,
            font=run.font,
            fill=fill,
            anchor="ls",
            direction=run.direction,
        )
        x += run.width


def line_height(size: int) -> int:
    return round(size * 1.45)


def clip_lines(lines: list[str], max_lines: int) -> list[str]:
    """At most ``max_lines`` lines, the last one ending in an ellipsis when some were cut."""
    if len(lines) <= max_lines:
        return lines
    kept = lines[: max(max_lines, 1)]
    kept[-1] = kept[-1].rstrip(" .,;:") + "…"
    return kept
