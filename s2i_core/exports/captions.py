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

NEUTRAL = {"WS", "ON", "CS", "ES", "ET", "BN", "S", "B", "NSM"}  # spaces, punctuation, marks


@dataclass(frozen=True)
class Run:
    text: str
    font: ImageFont.FreeTypeFont
    width: float


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
    """``text`` in logical order, cut where the font has to change."""
    family = font_family(text)
    pieces: list[tuple[str, str]] = []
    for char in text:
        wanted = family if ord(char) in _covered(family) else FONT
        if pieces and (wanted == pieces[-1][0] or unicodedata.bidirectional(char) in NEUTRAL):
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + char)
        else:
            pieces.append((wanted, char))
    result = []
    for run_family, piece in pieces:
        face = font(run_family, style, size)
        result.append(Run(piece, face, face.getlength(piece)))
    return result


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
    for run in reversed(pieces) if rtl else pieces:
        draw.text((x, top + ascent), run.text, font=run.font, fill=fill, anchor="ls")
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
