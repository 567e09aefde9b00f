"""Replay-size copies of a story's pictures, made once beside the originals and kept.

The replay and the storyboard show a picture at most about 960 px wide, while drawn pictures are
1024 px files of up to a few megabytes. The first page that needs a picture makes a JPEG copy of
the replay's size (a tenth of the bytes), named after the original (``frame-3-1.png`` ->
``frame-3-1.replay.jpg``: a redrawn picture gets its own) and removed with the story's folder;
every later visit, of any student, in any process, is served that file.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from PIL import Image

from .errors import StorageError
from .i18n import msg
from .storage import Library

REPLAY_SIDE = 960  # pixels: sharp on a classroom screen, small enough for a class's tablets
COPY_SUFFIX = ".replay.jpg"
_making = threading.Lock()  # thirty first visits at once make each copy once


def replay_copy(picture: Path, library: Library) -> str:
    """The replay-size copy of a stored picture (its path relative to the data folder, as the
    library stores paths), made now if it does not exist yet."""
    story_folder = picture.parent
    if story_folder.parent != library.media_dir or not story_folder.name.isdigit():
        raise StorageError(
            msg("{picture} is not a story's picture; no copy was made.", picture=picture)
        )
    name = picture.stem + COPY_SUFFIX
    rel = f"media/{story_folder.name}/{name}"
    if not (story_folder / name).is_file():
        with _making:
            if not (story_folder / name).is_file():
                library.media.write(int(story_folder.name), name, scaled_jpeg(picture.read_bytes()))
    return rel


def scaled_jpeg(data: bytes) -> bytes:
    """A picture no larger than REPLAY_SIDE on either side, as a JPEG."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((REPLAY_SIDE, REPLAY_SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=85, optimize=True)
        return buffer.getvalue()


def aspect_of(path: Path) -> float:
    """Width over height of a picture file (its header is enough)."""
    with Image.open(path) as picture:
        return round(picture.width / picture.height, 4)
