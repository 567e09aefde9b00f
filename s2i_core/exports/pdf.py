"""A printable storyboard: a title page, then two frames side by side on each A4 landscape page.

Captions stay real text (searchable, copyable), in the bundled fonts (see text.py) embedded with
per-character fallback between all of them. HarfBuzz shaping joins Devanagari conjuncts and
Arabic letters, and lays out right-to-left text.
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos
from PIL import Image

from ..errors import StorageError
from ..languages import language_name
from ..storage import FrameRecord, Library, StoryRecord
from .text import (
    FONT,
    FONT_FILES,
    FONTS_DIR,
    PLACEHOLDERS,
    SCRIPT_FONTS,
    clock,
    font_family,
    is_right_to_left,
)

# A4 landscape, in millimetres: two columns, each a square picture with its caption below.
PAGE_W, PAGE_H = 297.0, 210.0
PICTURE = 118.0
PICTURE_PX = round(PICTURE / 25.4 * 144)  # pictures go in at about 144 dpi of their printed size
GAP = 20.0
MARGIN = (PAGE_W - 2 * PICTURE - GAP) / 2
PICTURE_TOP = 22.0
CAPTION_TOP = PICTURE_TOP + PICTURE + 5
CAPTION_BOTTOM = PAGE_H - 16
CAPTION_SIZES = (15, 14, 13, 12, 11, 10, 9)  # points; the largest that fits is used
TITLE_MAX_LINES = 4
NEXT_LINE = {"new_x": XPos.LEFT, "new_y": YPos.NEXT}  # multi_cell ends at the start of a line


class _StoryboardPDF(FPDF):
    planned_pages = 1

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-12)
        self.set_font(FONT, size=9)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.page_no()} / {self.planned_pages}", align="C")


def export_pdf(story: StoryRecord, library: Library, out: Path | BinaryIO | None = None) -> bytes:
    """The story as a PDF document. Always returns the bytes (ready for a download button); also
    writes them to ``out``, a file path or an open binary file, when one is given.

    ``library`` resolves the frames' stored picture paths. Frames without a usable picture show
    why instead (not made yet, held back by the filter, ...), so any story can be exported.
    """
    pictures = _print_ready_pictures(story, library)
    pdf = _new_document(story)
    _title_page(pdf, story)
    show_english = story.language.lower() not in ("", "en", "english")
    for first in range(0, len(story.frames), 2):
        pdf.add_page()
        for column, frame in enumerate(story.frames[first : first + 2]):
            x = MARGIN + column * (PICTURE + GAP)
            _frame_label(pdf, frame, x)
            _picture(pdf, pictures.get(frame.id), frame, x)
            text = frame.text.strip()
            english = frame.text_en.strip() if show_english else ""
            _caption(pdf, text, "" if english == text else english, x)
    data = bytes(pdf.output())
    if isinstance(out, str | Path):
        Path(out).write_bytes(data)
    elif out is not None:
        out.write(data)
    return data


def _new_document(story: StoryRecord) -> FPDF:
    pdf = _StoryboardPDF(orientation="landscape", unit="mm", format="A4")
    pdf.planned_pages = 1 + (len(story.frames) + 1) // 2
    pdf.alias_nb_pages(None)  # else "{nb}" typed in a title would turn into the page count
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    for (family, style), file_name in FONT_FILES.items():
        pdf.add_font(family, style, FONTS_DIR / file_name)
    pdf.set_fallback_fonts([FONT, *SCRIPT_FONTS.values()], exact_match=False)
    pdf.set_text_shaping(True)
    pdf.set_title(story.title)
    pdf.set_subject(f"Storyboard for {story.class_name}" if story.class_name else "Storyboard")
    pdf.set_creator("Speech-to-Image storyboards")
    return pdf


def _title_page(pdf: FPDF, story: StoryRecord) -> None:
    pdf.add_page()
    title = story.title.strip() or "Untitled story"
    pdf.set_y(52)
    _set_font(pdf, title, "B", 30)
    title = _clip(pdf, title, PAGE_W - 2 * MARGIN, 13, TITLE_MAX_LINES)
    pdf.multi_cell(0, 13, title, align=_alignment(title, "C"), **NEXT_LINE)
    pdf.ln(10)
    minutes, seconds = divmod(round(story.duration), 60)
    facts = [
        ("Class", story.class_name),
        ("Date", f"{story.created_at.day} {story.created_at:%B %Y}"),
        ("Language", language_name(story.language)),
        ("Pictures", str(len(story.frames))),
        ("Length", f"{minutes}:{seconds:02d}" if story.duration else ""),
    ]
    pdf.set_text_color(60)
    for label, value in facts:
        if value:
            _set_font(pdf, value, "", 15)
            pdf.multi_cell(0, 9, f"{label}: {value}", align="C", **NEXT_LINE)


def _frame_label(pdf: FPDF, frame: FrameRecord, x: float) -> None:
    pdf.set_xy(x, PICTURE_TOP - 7)
    pdf.set_font(FONT, "B", 11)
    pdf.set_text_color(90)
    pdf.cell(PICTURE, 5, f"{frame.index + 1}   ·   {clock(frame.start)}–{clock(frame.end)}")


def _print_ready_pictures(story: StoryRecord, library: Library) -> dict[int, bytes]:
    """Each frame's picture as a JPEG sized for print, made on every core at once (decoding and
    resizing release the GIL); frames whose picture is missing or unreadable are left out."""
    frames = [f for f in story.frames if f.image_path]
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        jpegs = pool.map(lambda f: _print_ready(library, f.image_path), frames)
        return {f.id: jpeg for f, jpeg in zip(frames, jpegs, strict=True) if jpeg}


def _print_ready(library: Library, stored_path: str) -> bytes | None:
    try:
        with Image.open(library.path(stored_path)) as picture:
            picture = picture.convert("RGB")
            picture.thumbnail((PICTURE_PX, PICTURE_PX), Image.Resampling.LANCZOS, reducing_gap=2.0)
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=85)
            return out.getvalue()
    except (OSError, ValueError, StorageError):  # unreadable file: the frame shows why instead
        return None


def _picture(pdf: FPDF, jpeg: bytes | None, frame: FrameRecord, x: float) -> None:
    if jpeg:
        pdf.image(io.BytesIO(jpeg), x, PICTURE_TOP, PICTURE, PICTURE, keep_aspect_ratio=True)
        return
    pdf.set_fill_color(236, 236, 236)
    pdf.rect(x, PICTURE_TOP, PICTURE, PICTURE, style="F", round_corners=True, corner_radius=4)
    message = PLACEHOLDERS.get(frame.status, PLACEHOLDERS["pending"])
    pdf.set_xy(x + 10, PICTURE_TOP + PICTURE / 2 - 12)
    pdf.set_font(FONT, size=13)
    pdf.set_text_color(90)
    pdf.multi_cell(PICTURE - 20, 7, message, align="C", **NEXT_LINE)
    if frame.status == "failed" and frame.error:
        pdf.set_x(x + 10)
        pdf.set_font(FONT, size=9)
        pdf.multi_cell(PICTURE - 20, 5, frame.error[:240], align="C")


def _caption(pdf: FPDF, text: str, english: str, x: float) -> None:
    """The spoken sentence, and under it the English line in smaller italics, at the largest size
    that fits between the picture and the page number (cut short if even the smallest does not)."""
    room = CAPTION_BOTTOM - CAPTION_TOP
    size = next(
        (size for size in CAPTION_SIZES if _block_height(pdf, text, english, size) <= room),
        CAPTION_SIZES[-1],
    )
    pdf.set_xy(x, CAPTION_TOP)
    pdf.set_text_color(20)
    _set_font(pdf, text, "", size)
    text_room = room * 0.7 if english else room
    text = _clip(pdf, text, PICTURE, _line_height(size), int(text_room // _line_height(size)))
    pdf.multi_cell(PICTURE, _line_height(size), text, align=_alignment(text, "L"), **NEXT_LINE)
    if english:
        pdf.set_xy(x, pdf.get_y() + 2)
        pdf.set_text_color(80)
        _set_font(pdf, english, "I", size * 0.8)
        english_lines = int((CAPTION_BOTTOM - pdf.get_y()) // _line_height(size * 0.8))
        english = _clip(pdf, english, PICTURE, _line_height(size * 0.8), english_lines)
        pdf.multi_cell(PICTURE, _line_height(size * 0.8), english, align=_alignment(english, "L"))


def _block_height(pdf: FPDF, text: str, english: str, size: float) -> float:
    _set_font(pdf, text, "", size)
    height = len(_wrapped(pdf, text, PICTURE, _line_height(size))) * _line_height(size)
    if english:
        small = size * 0.8
        _set_font(pdf, english, "I", small)
        height += 2 + len(_wrapped(pdf, english, PICTURE, _line_height(small))) * _line_height(
            small
        )
    return height


def _wrapped(pdf: FPDF, text: str, width: float, line_height: float) -> list[str]:
    """The lines multi_cell would print, in the current font."""
    return pdf.multi_cell(width, line_height, text, dry_run=True, output=MethodReturnValue.LINES)


def _clip(pdf: FPDF, text: str, width: float, line_height: float, max_lines: int) -> str:
    """``text`` cut to ``max_lines`` printed lines, ending in an ellipsis when it was cut."""
    lines = _wrapped(pdf, text, width, line_height)
    max_lines = max(max_lines, 1)
    if len(lines) <= max_lines:
        return text
    kept = lines[:max_lines]
    kept[-1] = kept[-1][:-2].rstrip() + "…"
    return "\n".join(kept)


def _set_font(pdf: FPDF, text: str, style: str, size: float) -> None:
    family = font_family(text)
    if f"{family}{style}" not in pdf.fonts:  # e.g. no italic Devanagari: use upright
        style = ""
    pdf.set_font(family, style, size)


def _line_height(size: float) -> float:
    return size * 0.5  # about 1.4 x the font size, in mm


def _alignment(text: str, default: str) -> str:
    return "R" if is_right_to_left(text) else default
