"""Reference pictures: a character's picture, made ready for a model that draws from one.

A class may photograph its own drawing of the hero with a phone: PNG, JPEG or HEIC, often turned
(the phone says so in EXIF), with the table and shadows around the paper. ``prepare_upload``
turns that into an upright PNG on white, cropped to the drawing; ``compose_sheet`` lays several
characters side by side for models that take one reference picture; ``data_url`` is how a
picture travels in a request body.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageOps, ImageStat, UnidentifiedImageError

from ..errors import ReferencePictureError

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # a phone photo is 2-8 MB
MAX_REFERENCE_SIDE = 1024  # what reference models read; larger only slows the request
MIN_REFERENCE_SIDE = 64  # below this nothing of the drawing survives
PAPER_TOLERANCE = 48  # how far (0-255 per channel) from the paper's colour still counts as paper
UPLOAD_TYPES = ("png", "jpg", "jpeg", "heic", "heif")  # what the page's uploader accepts


@dataclass(frozen=True)
class Crop:
    """Part of an upload to keep, as fractions of its (upright) width and height."""

    left: float = 0.0
    top: float = 0.0
    right: float = 1.0
    bottom: float = 1.0

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        if not (0 <= self.left < self.right <= 1 and 0 <= self.top < self.bottom <= 1):
            raise ReferencePictureError(
                "The part of the picture to keep is empty or outside it. Choose it again."
            )
        return (
            round(self.left * width),
            round(self.top * height),
            round(self.right * width),
            round(self.bottom * height),
        )


@dataclass(frozen=True)
class ReferencePicture:
    """One character's picture as a model is given it."""

    character: str  # the name in the story bible
    png: bytes  # upright, RGB, on white, at most MAX_REFERENCE_SIDE a side
    width: int
    height: int


def _register_heif() -> bool:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # pillow-heif is in requirements.txt; without it HEIC says so below
        return False
    register_heif_opener()
    return True


HEIF_READY = _register_heif()


def open_upload(data: bytes, filename: str = "") -> Image.Image:
    """The uploaded picture, upright (EXIF orientation applied), as RGB on white."""
    if not data:
        raise ReferencePictureError("The file is empty. Choose the photo of the drawing again.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ReferencePictureError(
            f"The photo is {len(data) / 1e6:.0f} MB; the most we take is "
            f"{MAX_UPLOAD_BYTES // 1_000_000} MB. Take it again at a smaller size."
        )
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        heic = filename.lower().endswith((".heic", ".heif"))
        hint = " (HEIC needs the pillow-heif package)" if heic and not HEIF_READY else ""
        raise ReferencePictureError(
            f"{filename or 'This file'} is not a picture we can read{hint}. Upload a PNG, JPEG "
            "or HEIC photo of the drawing."
        ) from None
    image = ImageOps.exif_transpose(image)
    return _on_white(image)


def _on_white(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def clean_background(image: Image.Image, tolerance: int = PAPER_TOLERANCE) -> Image.Image:
    """Paper and shadows to white, the drawing cropped out with a margin.

    The paper's colour is the median of the picture's border; every pixel near it becomes white,
    so a grey or yellowish photo of white paper reads as a drawing on white, which is what
    reference models copy a character from.
    """
    paper = _border_colour(image)
    distance = ImageChops.difference(image, Image.new("RGB", image.size, paper)).convert("L")
    ink = distance.point(lambda v: 255 if v > tolerance else 0)
    cleaned = Image.composite(image, Image.new("RGB", image.size, "white"), ink)
    box = ink.getbbox()
    if box is None:
        raise ReferencePictureError(
            "We could not find a drawing in this photo: it looks like blank paper. Take the "
            "photo closer, with the drawing in the middle."
        )
    margin = max(4, round(0.04 * max(image.size)))
    left, top, right, bottom = box
    box = (
        max(0, left - margin),
        max(0, top - margin),
        min(image.width, right + margin),
        min(image.height, bottom + margin),
    )
    return cleaned.crop(box)


def _border_colour(image: Image.Image) -> tuple[int, int, int]:
    width, height = image.size
    strip = max(1, min(width, height) // 50)
    parts = [
        image.crop((0, 0, width, strip)),
        image.crop((0, height - strip, width, height)),
        image.crop((0, 0, strip, height)),
        image.crop((width - strip, 0, width, height)),
    ]
    medians = [ImageStat.Stat(part).median for part in parts]  # the four edges, each
    return tuple(sorted(edge[c] for edge in medians)[2] for c in range(3))


def prepare_upload(
    data: bytes, filename: str = "", crop: Crop | None = None, clean: bool = True
) -> bytes:
    """An uploaded photo of a drawing as the PNG a character sheet keeps: upright, cropped to
    ``crop`` (fractions of the upright picture), its paper cleaned to white when ``clean``, and at
    most MAX_REFERENCE_SIDE a side."""
    image = open_upload(data, filename)
    if crop is not None:
        image = image.crop(crop.box(*image.size))
    if clean:
        image = clean_background(image)
    if min(image.size) < MIN_REFERENCE_SIDE // 4 or max(image.size) < MIN_REFERENCE_SIDE:
        raise ReferencePictureError(
            f"The drawing is only {image.width}x{image.height} pixels after cropping; it needs "
            f"at least {MIN_REFERENCE_SIDE} on its longer side. Keep more of the photo."
        )
    image.thumbnail((MAX_REFERENCE_SIDE, MAX_REFERENCE_SIDE), Image.Resampling.LANCZOS)
    return png_bytes(image)


def reference_from_png(character: str, data: bytes) -> ReferencePicture:
    with Image.open(io.BytesIO(data)) as image:
        return ReferencePicture(character, data, image.width, image.height)


def compose_sheet(references: list[ReferencePicture], height: int = 512) -> ReferencePicture:
    """Several characters side by side on white, each scaled to ``height``: one reference picture
    for a model that takes only one (the frame's prompt names who is who, left to right)."""
    if len(references) == 1:
        return references[0]
    tiles = []
    for reference in references:
        with Image.open(io.BytesIO(reference.png)) as image:
            scale = height / image.height
            tiles.append(image.convert("RGB").resize((max(1, round(image.width * scale)), height)))
    gap = height // 16
    width = sum(t.width for t in tiles) + gap * (len(tiles) - 1)
    sheet = Image.new("RGB", (width, height), "white")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width + gap
    sheet.thumbnail((MAX_REFERENCE_SIDE * 2, MAX_REFERENCE_SIDE), Image.Resampling.LANCZOS)
    names = " and ".join(r.character for r in references)
    return ReferencePicture(names, png_bytes(sheet), sheet.width, sheet.height)


def fitted(reference: ReferencePicture, size: tuple[int, int]) -> Image.Image:
    """The reference centred on white at ``size`` (what a local pipeline starts from)."""
    with Image.open(io.BytesIO(reference.png)) as image:
        return ImageOps.pad(image.convert("RGB"), size, color="white")


def data_url(reference: ReferencePicture) -> str:
    """The picture as a request body carries it: ``data:image/png;base64,...``."""
    return "data:image/png;base64," + base64.b64encode(reference.png).decode("ascii")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
