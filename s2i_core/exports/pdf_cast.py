"""The story's characters on the PDF's first page: each one's chosen picture from the character
sheet (the class's drawing, or the try the teacher picked), with the name below it."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from ..errors import StorageError
from ..storage import Library, StoryRecord
from ..story.bible import StoryBible

CAST_PICTURE = 42.0  # mm: each character's picture, at most this wide and high
CAST_GAP = 10.0
CAST_MAX = 5  # characters on the page; a sheet rarely has more main characters


@dataclass(frozen=True)
class CastMember:
    name: str
    jpeg: bytes


def cast_members(story: StoryRecord, library: Library) -> list[CastMember]:
    """The characters of the story's bible that have a chosen picture, as print-ready JPEGs."""
    try:
        sheet = library.character_sheet(story.id)
    except StorageError:
        return []
    members = []
    for character in StoryBible.from_json(story.bible).characters:
        picture = sheet.chosen(character.name)
        jpeg = _jpeg(library, picture.image_path) if picture else None
        if jpeg:
            members.append(CastMember(character.name, jpeg))
    return members[:CAST_MAX]


def _jpeg(library: Library, stored_path: str) -> bytes | None:
    side = round(CAST_PICTURE / 25.4 * 200)  # about 200 dpi
    try:
        with Image.open(library.path(stored_path)) as picture:
            picture = picture.convert("RGB")
            picture.thumbnail((side, side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=88)
            return out.getvalue()
    except (OSError, ValueError, StorageError):
        return None


def cast_row(pdf, members: list[CastMember], top: float, page_width: float, label) -> None:
    """The pictures side by side, centred under ``top``; ``label(name, x, y, width)`` writes a
    name in the document's fonts."""
    if not members:
        return
    width = len(members) * CAST_PICTURE + (len(members) - 1) * CAST_GAP
    x = (page_width - width) / 2
    for member in members:
        pdf.image(
            io.BytesIO(member.jpeg), x, top, CAST_PICTURE, CAST_PICTURE, keep_aspect_ratio=True
        )
        label(member.name, x, top + CAST_PICTURE + 2, CAST_PICTURE)
        x += CAST_PICTURE + CAST_GAP
