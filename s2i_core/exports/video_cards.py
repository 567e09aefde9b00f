"""The still pictures of a narrated video, drawn once per shot: the caption panel beside the
picture, the replay's card where a picture is missing, and the title card or banner."""

from __future__ import annotations

from PIL import Image, ImageDraw

from ..languages import language_name
from ..storage import StoryRecord
from .captions import line_height
from .text import is_right_to_left
from .timeline import Shot
from .video_frames import Layout

PAPER = (244, 239, 230)  # the replay's colours
CARD = (255, 251, 243)
LINE = (228, 220, 205)
INK = (43, 47, 54)
MUTED = (110, 104, 96)
ACCENT = (194, 65, 12)


def page(story: StoryRecord, shot: Shot, layout: Layout) -> Image.Image:
    """The still part of a sentence's frames: the caption panel, with the story's title above."""
    page = Image.new("RGB", (layout.width, layout.height), PAPER)
    draw = ImageDraw.Draw(page)
    top, bottom = layout.margin, layout.height - layout.margin
    header = layout.px(20)
    _lines(draw, layout, story.title.strip(), layout.panel, top, ("B", header, MUTED), 1)
    counter = f"{shot.frame.index + 1} / {len(story.frames)}"
    layout.type.draw_line(
        draw, counter, layout.panel, top + line_height(header), "", layout.px(18), MUTED
    )
    room_top = top + 3 * line_height(header)
    show_english = story.language.lower() not in ("", "en", "english")
    english = shot.frame.text_en.strip() if show_english else ""
    _caption(draw, shot.frame.text.strip(), english, layout, room_top, bottom)
    return page


def _caption(draw, text: str, english: str, layout: Layout, top: int, bottom: int) -> None:
    """The sentence at the largest size that fits (the English line smaller, below), centred in
    the panel's height; cut with an ellipsis if even the smallest size does not fit."""
    type_, width = layout.type, layout.panel[1] - layout.panel[0]
    english = "" if english == text else english
    for points in (44, 40, 36, 32, 28, 24):
        size, small = layout.px(points), layout.px(points * 0.7)
        lines = type_.wrap(text, "", size, width)
        extra = type_.wrap(english, "I", small, width) if english else []
        height = len(lines) * line_height(size) + (
            len(extra) * line_height(small) + line_height(small) // 2 if extra else 0
        )
        if height <= bottom - top:
            break
    else:
        extra = type_.clip(extra, 2, "I", small, width) if extra else []
        room = bottom - top - (len(extra) + 1) * line_height(small)
        lines = type_.clip(lines, max(1, room // line_height(size)), "", size, width)
        height = len(lines) * line_height(size) + len(extra) * line_height(small)
    y = top + max(0, (bottom - top - height) // 2)
    rtl = is_right_to_left(text)
    for line in lines:
        type_.draw_line(draw, line, layout.panel, y, "", size, INK, rtl=rtl)
        y += line_height(size)
    y += line_height(small) // 2
    for line in extra:
        type_.draw_line(draw, line, layout.panel, y, "I", small, MUTED)
        y += line_height(small)


def card(page: Image.Image, shot: Shot, layout: Layout) -> None:
    """The replay's card where a picture would be: "No picture yet" above the sentence."""
    draw = ImageDraw.Draw(page)
    x, y = layout.box_xy
    draw.rounded_rectangle(
        (x, y, x + layout.box, y + layout.box),
        layout.radius,
        fill=CARD,
        outline=LINE,
        width=max(2, layout.px(2)),
    )
    inner = (x + layout.box * 0.1, x + layout.box * 0.9)
    label, size = layout.px(20), layout.px(30)
    text = shot.frame.text.strip()
    lines = layout.type.wrap(text, "", size, inner[1] - inner[0])
    lines = layout.type.clip(lines, 9, "", size, inner[1] - inner[0])
    top = y + (layout.box - line_height(label) * 2 - len(lines) * line_height(size)) // 2
    layout.type.draw_line(draw, "No picture yet", inner, top, "", label, ACCENT, align="center")
    top += line_height(label) * 2
    _lines(draw, layout, text, inner, top, ("", size, INK), 9, align="center")


def title_banner(story: StoryRecord, layout: Layout) -> Image.Image:
    """The title card in small, to lie over the bottom of the first picture."""
    width, height = layout.banner_size
    banner = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(banner)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), layout.radius, fill=(*PAPER, 235))
    inner = (layout.margin * 0.6, width - layout.margin * 0.6)
    _title_block(draw, story, layout, inner, (0, height), (layout.px(34), layout.px(20)), 2)
    return banner


def title_card(story: StoryRecord, layout: Layout) -> Image.Image:
    """The whole frame, in the silence before the first sentence."""
    card = Image.new("RGB", (layout.width, layout.height), PAPER)
    draw = ImageDraw.Draw(card)
    inner = (layout.width * 0.1, layout.width * 0.9)
    sizes = (layout.px(60), layout.px(26))
    _title_block(draw, story, layout, inner, (0, layout.height), sizes, 3, gap=True)
    return card


def _title_block(draw, story, layout, inner, span, sizes, max_lines, gap=False) -> None:
    """The title (bold, at most ``max_lines``) over the story's facts, centred in ``span``."""
    size, small = sizes
    title = story.title.strip() or "Untitled story"
    count = len(
        layout.type.clip(
            layout.type.wrap(title, "B", size, inner[1] - inner[0]),
            max_lines,
            "B",
            size,
            inner[1] - inner[0],
        )
    )
    block = count * line_height(size) + line_height(small) * (2 if gap else 1)
    top = span[0] + (span[1] - span[0] - block) // 2
    top = _lines(draw, layout, title, inner, top, ("B", size, INK), max_lines, align="center")
    top += line_height(small) if gap else 0
    _lines(draw, layout, _facts(story), inner, top, ("", small, MUTED), 1, align="center")


def _lines(draw, layout, text, box, top, look, max_lines, align="start") -> int:
    """``text`` wrapped into ``box`` from ``top``, cut to ``max_lines``; returns the y below it.
    ``look`` is (style, size, colour)."""
    style, size, fill = look
    width = box[1] - box[0]
    lines = layout.type.clip(
        layout.type.wrap(text, style, size, width), max_lines, style, size, width
    )
    rtl = is_right_to_left(text)
    for line in lines:
        layout.type.draw_line(draw, line, box, top, style, size, fill, align=align, rtl=rtl)
        top += line_height(size)
    return top


def _facts(story: StoryRecord) -> str:
    pictures = f"{len(story.frames)} {'picture' if len(story.frames) == 1 else 'pictures'}"
    facts = [
        story.class_name,
        f"{story.created_at.day} {story.created_at:%B %Y}",
        language_name(story.language) if story.language else "",
        pictures,
    ]
    return " · ".join(fact for fact in facts if fact)
