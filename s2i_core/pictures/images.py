"""Picture bytes: check what the service sent, make thumbnails, draw a card when there is none."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageStat, UnidentifiedImageError

from ..errors import BadImageError
from ..i18n import msg

MAX_IMAGE_SIDE = 4096
MAX_IMAGE_BYTES = 20 * 1024 * 1024
# The bundled copy first, so cards look the same on every machine.
FONT_FILES = (
    Path(__file__).parent.parent / "fonts" / "DejaVuSans.ttf",
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)
CARD_BACKGROUND = (238, 242, 247)
CARD_INK = (40, 48, 60)
CARD_LABEL_INK = (150, 70, 40)


class BlankImageError(BadImageError):
    """The picture decodes but shows nothing: all black, or fully transparent."""


def verify_image(data: bytes, *, reject_blank: bool = False) -> tuple[str, int, int]:
    """Check that ``data`` is one whole picture of a sensible size; return (format, width, height).

    Raises BadImageError (BlankImageError for an all-black or fully transparent picture when
    ``reject_blank`` is set).
    """
    if not data:
        raise BadImageError(msg("The picture service sent an empty picture. Try drawing it again."))
    if len(data) > MAX_IMAGE_BYTES:
        raise BadImageError(
            msg(
                "The picture service sent a picture of {size} MB, more than the "
                "{limit} MB we accept. Try drawing it again.",
                size=f"{len(data) / 1e6:.0f}",
                limit=MAX_IMAGE_BYTES // (1024 * 1024),
            )
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, (width, height) = image.format or "", image.size
            _check_size(width, height)
            image.verify()  # checksums and structure; the image cannot be used afterwards
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # a truncated file fails only when the pixels are decoded
            blank = reject_blank and _is_blank(image)
    except BadImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise BadImageError(
            msg(
                "The picture service sent something that is not a picture we can read. "
                "Try drawing it again."
            )
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise BadImageError(
            msg(
                "The picture service sent a damaged picture ({error}). Try drawing it again.",
                error=error,
            )
        ) from error
    if blank:
        raise BlankImageError("The picture service sent an empty, all-black picture.")
    return image_format, width, height


def _check_size(width: int, height: int) -> None:
    if max(width, height) > MAX_IMAGE_SIDE:
        raise BadImageError(
            msg(
                "The picture service sent a picture of {width}x{height} pixels, larger "
                "than the {max_image_side} pixels a side we accept. Try drawing it again.",
                width=width,
                height=height,
                max_image_side=MAX_IMAGE_SIDE,
            )
        )


def _is_blank(image: Image.Image) -> bool:
    if "A" in image.getbands() and image.getchannel("A").getextrema()[1] == 0:
        return True
    brightest = ImageStat.Stat(image.convert("L")).extrema[0][1]
    return brightest <= 8  # JPEG noise leaves a few levels above pure black


def to_png(data: bytes) -> bytes:
    """Re-encode any readable picture as PNG (PNG input is returned unchanged)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data
    with Image.open(io.BytesIO(data)) as image:
        return _encode(image, "PNG")


def thumbnail(data: bytes, max_side: int = 320) -> bytes:
    """A small JPEG of the picture, at most ``max_side`` pixels a side, for lists and galleries."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return _encode(_flatten(image), "JPEG", quality=82, optimize=True)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no transparency."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_FILES:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def placeholder_card(
    text: str, width: int = 1024, height: int = 1024, label: str = "No picture yet"
) -> bytes:
    """A plain PNG card with the sentence, clearly marked with ``label``; same input, same bytes."""
    card = Image.new("RGB", (width, height), CARD_BACKGROUND)
    draw = ImageDraw.Draw(card)
    margin = max(16, width // 16)
    inner = (margin // 2, margin // 2, width - margin // 2, height - margin // 2)
    draw.rounded_rectangle(
        inner, radius=margin // 2, outline=CARD_LABEL_INK, width=max(2, width // 256)
    )

    label_font = _font(max(12, height // 18))
    draw.text((width // 2, margin), label, font=label_font, fill=CARD_LABEL_INK, anchor="mt")

    body_size = max(10, height // 22)
    body_font = _font(body_size)
    lines = _wrap(draw, text.strip(), body_font, width - 2 * margin)
    line_height = int(body_size * 1.35)
    max_lines = max(1, (height - 4 * margin) // line_height)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" .,;:") + "…"
    top = (height - line_height * len(lines)) // 2 + margin // 2
    for number, line in enumerate(lines):
        y = top + number * line_height
        draw.text((width // 2, y), line, font=body_font, fill=CARD_INK, anchor="mt")
    return _encode(card, "PNG")


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, max_width: int
) -> list[str]:
    """Greedy word wrap by measured width; a word wider than the card is split by characters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if draw.textlength(candidate, font=font) <= max_width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while draw.textlength(line, font=font) > max_width and len(line) > 1:
                cut = _longest_fitting_prefix(draw, line, font, max_width)
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return [line for line in lines if line] or [""]


def _longest_fitting_prefix(
    draw: ImageDraw.ImageDraw, word: str, font: ImageFont.ImageFont, max_width: int
) -> int:
    for cut in range(len(word) - 1, 0, -1):
        if draw.textlength(word[:cut], font=font) <= max_width:
            return cut
    return 1


__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE",
    "BlankImageError",
    "placeholder_card",
    "thumbnail",
    "to_png",
    "verify_image",
]
