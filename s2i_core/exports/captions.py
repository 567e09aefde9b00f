"""Text drawn into pictures (the video's captions and cards), set like the PDF's.

Pillow lays text out with libraqm (HarfBuzz shaping and FriBiDi ordering), so Devanagari
conjuncts join, Arabic letters connect, Thai marks sit on their letters, and right-to-left lines
read from the right. Each line is split into runs by font, the PDF's per-character fallback
(fonts.py): a Latin name inside a Hindi or Arabic sentence is set in DejaVu Sans, the rest in
its script's Noto font. Lines break by the Unicode rules (lines.py), so Chinese, Japanese and
Thai, written without spaces, wrap inside the caption box too.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageDraw, ImageFont, features

from ..errors import ExportError
from ..i18n import msg
from .fonts import Face, FontSet
from .lines import break_lines, clip
from .text import is_right_to_left

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
            msg(
                "Captions cannot be shaped on this computer: Pillow found no "
                "libraqm/FriBiDi. Install the system package libfribidi0 (Debian/Ubuntu) "
                "and try again."
            )
        )


@lru_cache(maxsize=128)
def font(face: Face, style: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        str(face.path(style)), size, index=face.index, layout_engine=ImageFont.Layout.RAQM
    )


def line_height(size: int) -> int:
    return round(size * 1.45)


class Typesetter:
    """Lines of text in one story's fonts: measured, wrapped, cut to fit and drawn."""

    def __init__(self, fonts: FontSet):
        self.fonts = fonts

    def runs(self, text: str, style: str, size: int) -> list[Run]:
        """``text`` in logical order, cut where the font or the direction changes. Spaces and
        punctuation join the letters around them when those agree; between two that differ
        they stand alone, so a Latin name or a date in an Arabic line keeps its spaces where
        they belong."""
        main = self.fonts.main_face(text)
        kinds: list[tuple[Face, str] | None] = []  # (face, direction) per character; None: neutral
        for char in text:
            bidi = unicodedata.bidirectional(char)
            if bidi == "NSM" and kinds:  # a mark stays with its letter
                kinds.append(kinds[-1])
            elif bidi in NEUTRAL:
                kinds.append(None)
            else:  # a character no face has: the main face's empty box, reported by missing()
                face = self.fonts.face_for(char, main) or main
                kinds.append((face, "rtl" if bidi in RIGHT_TO_LEFT else "ltr"))
        pieces: list[tuple[tuple[Face, str, bool], str]] = []
        for i, char in enumerate(text):
            key = (*kinds[i], True) if kinds[i] else self._neutral_key(char, kinds, i, main)
            if pieces and pieces[-1][0] == key:
                pieces[-1] = (key, pieces[-1][1] + char)
            else:
                pieces.append((key, char))
        result = []
        for (face, direction, strong), piece in pieces:
            shaped = font(face, style, size)
            width = shaped.getlength(piece, direction=direction)
            result.append(Run(piece, shaped, width, direction, strong))
        return result

    def _neutral_key(self, char: str, kinds: list, i: int, main: Face) -> tuple[Face, str, bool]:
        before = next((k for k in reversed(kinds[:i]) if k), None)
        after = next((k for k in kinds[i + 1 :] if k), None)
        around = before if after in (None, before) else after if before is None else None
        if around and char in around[0]:
            return (*around, True)
        return (self.fonts.face_for(char, main) or main), "ltr", False

    def width(self, text: str, style: str, size: int) -> float:
        return sum(run.width for run in self.runs(text, style, size))

    def wrap(self, text: str, style: str, size: int, width: float) -> list[str]:
        """Lines at most ``width`` pixels wide, broken where Unicode allows (lines.py)."""
        text = self.fonts.printable(text)
        return break_lines(text, self._fits(style, size, width), self.fonts.language)

    def clip(self, lines: list[str], max_lines: int, style: str, size: int, width: float):
        """At most ``max_lines`` lines, the last one ending in an ellipsis when some were cut."""
        return clip(lines, max_lines, self._fits(style, size, width))

    def _fits(self, style: str, size: int, width: float):
        return lambda line: self.width(line, style, size) <= width

    def draw_line(
        self,
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
        """One line between x = box[0] and box[1], its top at ``top``; ``align`` is "start"
        (left, or right for right-to-left text) or "center". ``rtl`` is the paragraph's
        direction (a line of a right-to-left paragraph may start with a Latin word); by
        default, the line's own."""
        pieces = self.runs(text, style, size)
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
