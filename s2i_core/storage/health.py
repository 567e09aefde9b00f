"""Is a stored picture or narration still readable? Files can be cut short (a full disk, a copy
stopped half-way) or turn into broken links (a restored backup); pages then show the frame's card
and tell the teacher which file to redraw, instead of failing.

Each answer is kept per (path, size, modification time), so a page that redraws every second
decodes a picture once, and a file written again is checked again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..errors import StorageError
from .records import FrameRecord, StoryRecord

SHOWS_PICTURE = ("done", "no_backend")  # as s2i_core.exports.timeline: a failed redo shows a card


@dataclass(frozen=True)
class DamagedFile:
    """A stored file a story needs that cannot be read."""

    path: str  # as stored, relative to the data folder (never an absolute server path)
    frame: FrameRecord | None  # the frame whose picture it is; None: the story's narration


def picture_readable(path: Path) -> bool:
    """The file exists and decodes completely as a picture."""
    stamp = _stamp(path)
    return stamp is not None and _decodes(str(path), *stamp)


def narration_readable(path: Path) -> bool:
    """The file exists, is not empty, and its container opens with at least one audio stream."""
    stamp = _stamp(path)
    return stamp is not None and stamp[0] > 0 and _audio_opens(str(path), *stamp)


def damaged_files(story: StoryRecord, library) -> list[DamagedFile]:
    """The shown pictures and the narration of ``story`` that exist in the library's records
    but cannot be read (``library``: a ``Library``, whose ``path`` refuses escapes)."""
    damaged = [
        DamagedFile(frame.image_path, frame)
        for frame in story.frames
        if frame.status in SHOWS_PICTURE
        and frame.image_path
        and not _stored_ok(library, frame.image_path, picture_readable)
    ]
    if story.narration_path and not _stored_ok(library, story.narration_path, narration_readable):
        damaged.append(DamagedFile(story.narration_path, None))
    return damaged


def _stored_ok(library, rel: str, readable: Callable[[Path], bool]) -> bool:
    try:
        path = library.path(rel)
    except StorageError:  # a link that leads out of the data folder: as good as missing
        return False
    return readable(path)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_size, info.st_mtime_ns) if os.path.isfile(path) else None


@lru_cache(maxsize=4096)
def _decodes(path: str, size: int, mtime_ns: int) -> bool:
    try:
        with Image.open(path) as image:
            image.load()  # the whole file: a truncated one fails here, not on first sight
        return True
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return False


@lru_cache(maxsize=1024)
def _audio_opens(path: str, size: int, mtime_ns: int) -> bool:
    import av

    try:
        with av.open(path) as container:
            return bool(container.streams.audio)
    except (av.FFmpegError, OSError, ValueError):
        return False
