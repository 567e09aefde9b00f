"""A printable storyboard: a title page, then two frames side by side on each A4 landscape page.

Captions stay real text (searchable, copyable) in the fonts of fonts.py, subset into the file:
each piece of text in its script's font, a character that font lacks in its own script's font
(a Latin name in a Hindi sentence, Chinese in an English title). HarfBuzz shaping joins
Devanagari conjuncts and Arabic letters and places Thai marks; right-to-left paragraphs are
laid out from the right. Lines break by the Unicode rules (lines.py), so Chinese, Japanese and
Thai wrap inside the caption too.
"""

from __future__ import annotations

import io
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

from ..errors import StorageError
from ..languages import language_name
from ..storage import FrameRecord, Library, StoryRecord
from .fonts import DEJAVU, Face, FontSet, font_set, missing_message
from .lines import break_lines, clip
from .text import PLACEHOLDERS, clock, is_right_to_left

log = logging.getLogger(__name__)

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

    def __init__(self, fonts: FontSet):
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.font_set = fonts
        self.face = DEJAVU  # the main face of the text being set (see use)

    def use(self, text: str, style: str, size: float) -> None:
        """Set the font for ``text`` (its main face, fonts.py) and its paragraph direction."""
        self.face = self.font_set.main_face(text)
        if not self.face.has_style(style):  # e.g. no italic Devanagari: upright
            style = ""
        self.set_font(self.face.name, style, size)
        self.set_text_shaping(True, direction="rtl" if is_right_to_left(text) else "ltr")

    def get_fallback_font(self, char: str, style: str = "") -> str | None:
        """The font for a character the main face lacks: its own script's face, or any that
        has it (fpdf2 asks this for every such character)."""
        face = self.font_set.face_for(char, self.face)
        if face is None:
            return None
        key = face.name + (style if face.has_style(style) else "")
        return key if key in self.fonts else None

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-12)
        self.use("", "", 9)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.page_no()} / {self.planned_pages}", align="C")


def export_pdf(story: StoryRecord, library: Library, out: Path | BinaryIO | None = None) -> bytes:
    """The story as a PDF document. Always returns the bytes (ready for a download button); also
    writes them to ``out``, a file path or an open binary file, when one is given.

    ``library`` resolves the frames' stored picture paths. Frames without a usable picture show
    why instead (not made yet, held back by the filter, ...), so any story can be exported. A
    character no font here has prints as an empty box and is logged (fonts.missing_note tells
    the teacher before).
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


def _new_document(story: StoryRecord) -> _StoryboardPDF:
    fonts = font_set(story.language)
    pdf = _StoryboardPDF(fonts)
    pdf.planned_pages = 1 + (len(story.frames) + 1) // 2
    pdf.alias_nb_pages(None)  # else "{nb}" typed in a title would turn into the page count
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    texts = [story.title, story.class_name]
    texts += [text for frame in story.frames for text in (frame.text, frame.text_en)]
    faces = _faces_needed(fonts, texts)
    for face in faces:
        for style, path in face.files:
            pdf.add_font(face.name, style, path, collection_font_number=face.index)
    pdf.set_fallback_fonts([face.name for face in faces], exact_match=False)
    if missing := fonts.missing(texts):
        log.warning("Story %s: %s", story.id, missing_message(missing))
    pdf.set_title(story.title)
    pdf.set_subject(f"Storyboard for {story.class_name}" if story.class_name else "Storyboard")
    pdf.set_creator("Speech-to-Image storyboards")
    return pdf


def _faces_needed(fonts: FontSet, texts: list[str]) -> list[Face]:
    """DejaVu Sans (labels, page numbers) and every face the texts use: a large font such as
    Noto Sans CJK is only read for a story that has such characters."""
    needed = {DEJAVU: None}
    for text in texts:
        main = fonts.main_face(text)
        needed[main] = None
        for char in text:
            face = fonts.face_for(char, main)
            if face is not None:
                needed[face] = None
    return list(needed)


def _title_page(pdf: _StoryboardPDF, story: StoryRecord) -> None:
    pdf.add_page()
    width = PAGE_W - 2 * MARGIN
    pdf.set_xy(MARGIN, 52)
    title = story.title.strip() or "Untitled story"
    _paragraph(pdf, title, ("B", 30, 13), width, TITLE_MAX_LINES, "C")
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
            _paragraph(pdf, f"{label}: {value}", ("", 15, 9), width, 2, "C")


def _frame_label(pdf: _StoryboardPDF, frame: FrameRecord, x: float) -> None:
    pdf.set_xy(x, PICTURE_TOP - 7)
    pdf.use("", "B", 11)
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


def _picture(pdf: _StoryboardPDF, jpeg: bytes | None, frame: FrameRecord, x: float) -> None:
    if jpeg:
        pdf.image(io.BytesIO(jpeg), x, PICTURE_TOP, PICTURE, PICTURE, keep_aspect_ratio=True)
        return
    pdf.set_fill_color(236, 236, 236)
    pdf.rect(x, PICTURE_TOP, PICTURE, PICTURE, style="F", round_corners=True, corner_radius=4)
    message = PLACEHOLDERS.get(frame.status, PLACEHOLDERS["pending"])
    pdf.set_xy(x + 10, PICTURE_TOP + PICTURE / 2 - 12)
    pdf.use(message, "", 13)
    pdf.set_text_color(90)
    pdf.multi_cell(PICTURE - 20, 7, message, align="C", **NEXT_LINE)
    if frame.status == "failed" and frame.error:
        pdf.set_x(x + 10)
        pdf.use(frame.error, "", 9)
        pdf.multi_cell(PICTURE - 20, 5, frame.error[:240], align="C")


def _caption(pdf: _StoryboardPDF, text: str, english: str, x: float) -> None:
    """The spoken sentence, and under it the English line in smaller italics, at the largest size
    that fits between the picture and the page number (cut short if even the smallest does not)."""
    room = CAPTION_BOTTOM - CAPTION_TOP
    size = next(
        (size for size in CAPTION_SIZES if _block_height(pdf, text, english, size) <= room),
        CAPTION_SIZES[-1],
    )
    pdf.set_xy(x, CAPTION_TOP)
    pdf.set_text_color(20)
    text_room = room * 0.7 if english else room
    look = ("", size, _line_height(size))
    _paragraph(pdf, text, look, PICTURE, int(text_room // _line_height(size)), "L")
    if english:
        pdf.set_xy(x, pdf.get_y() + 2)
        pdf.set_text_color(80)
        small = ("I", size * 0.8, _line_height(size * 0.8))
        _paragraph(
            pdf, english, small, PICTURE, int((CAPTION_BOTTOM - pdf.get_y()) // small[2]), "L"
        )


def _block_height(pdf: _StoryboardPDF, text: str, english: str, size: float) -> float:
    pdf.use(text, "", size)
    height = len(_wrapped(pdf, text, PICTURE)) * _line_height(size)
    if english:
        small = size * 0.8
        pdf.use(english, "I", small)
        height += 2 + len(_wrapped(pdf, english, PICTURE)) * _line_height(small)
    return height


def _paragraph(pdf: _StoryboardPDF, text: str, look, width: float, max_lines: int, align: str):
    """``text`` from the current position down, wrapped into ``width`` and cut to ``max_lines``
    lines; ``look`` is (style, size in points, line height in mm). Right-to-left text is set
    from the right where ``align`` is "L"."""
    style, size, line_height = look
    pdf.use(text, style, size)
    lines = clip(_wrapped(pdf, text, width), max_lines, _fits(pdf, width))
    if align == "L" and is_right_to_left(text):
        align = "R"
    for line in lines:
        pdf.cell(width, line_height, line, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _wrapped(pdf: _StoryboardPDF, text: str, width: float) -> list[str]:
    """The lines ``text`` takes in ``width``, in the current font."""
    text = pdf.font_set.printable(text)
    return break_lines(text, _fits(pdf, width), pdf.font_set.language)


def _fits(pdf: _StoryboardPDF, width: float):
    room = width - 2 * pdf.c_margin - 0.01  # a cell pads its text on both sides
    return lambda line: pdf.get_string_width(line) <= room


def _line_height(size: float) -> float:
    return size * 0.5  # about 1.4 x the font size, in mm
