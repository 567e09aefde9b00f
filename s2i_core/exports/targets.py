"""Where an export may be written: anywhere but the library.

An export named on the command line is refused (``ExportPathError``: exit 2, one ``error:``
line) before any work when it would land

- inside the data folder: the library database, the queue, the recordings, the pictures and the
  stored exports all live there, and a stray ``--pdf data/s2i.db`` must not destroy them;
- on the library's database file, wherever the settings put it;
- on an existing file that is not an earlier export of the same kind, told by its first bytes
  ("%PDF-" for a PDF, an MP4 ``ftyp`` box of a video brand for a video): a teacher's recording,
  a picture or a document is never replaced by an export that happened to get its name (an
  empty file is, as ``mktemp`` makes them to be written to).

Writing is unchanged: the export is written beside the target, then renamed over it, so an
interrupted export leaves the old file as it was (``write_replacing`` does it for a PDF).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy import make_url

from ..errors import ExportPathError
from ..settings import Settings

KINDS = {"pdf": "a PDF", "mp4": "an MP4 video"}
# ISO base media brands of MP4 video (ours are "isom"); audio-only M4A, QuickTime, HEIF pictures
# and 3GP phone files also begin with an ftyp box and are not replaced.
VIDEO_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V "}
# What a file that is in the way is, for the message (by its first bytes).
KNOWN_FILES = (
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"RIFF", "a RIFF file (WAV sound or WebP picture)"),
    (b"\x1a\x45\xdf\xa3", "a WebM or Matroska recording"),
    (b"ID3", "an MP3 recording"),
    (b"OggS", "an Ogg recording"),
    (b"fLaC", "a FLAC recording"),
    (b"PK\x03\x04", "a ZIP archive or office document"),
    (b"%PDF-", "a PDF"),
)


def check_targets(settings: Settings, pdf: Path | None = None, mp4: Path | None = None) -> None:
    """Refuse, before any work, export targets that would overwrite what they must not."""
    if pdf is not None and mp4 is not None and pdf.resolve() == mp4.resolve():
        raise ExportPathError(f"--pdf and --mp4 both name {pdf}; give each its own file.")
    for path, kind in ((pdf, "pdf"), (mp4, "mp4")):
        if path is not None:
            check_target(settings, path, kind)


def check_target(settings: Settings, path: Path, kind: str) -> None:
    """Refuse ``path`` as the place of a ``kind`` ("pdf" or "mp4") export; see the docstring."""
    target = path.resolve()  # through links: a link into the data folder is in it
    data_dir = Path(settings.data_dir).resolve()
    if target.is_relative_to(data_dir) or target in library_files(settings):
        raise ExportPathError(
            f"{path} is inside the data folder ({data_dir}), which holds the library: its "
            "database, recordings and pictures. Write the export somewhere else."
        )
    if target.exists() and not _empty(target) and not _earlier_export(target, kind):
        raise ExportPathError(
            f"{path} is already there and is not {KINDS[kind]} made before ({_what(target)}), "
            "so it was not replaced. Choose another name, or move that file away first."
        )


def library_files(settings: Settings) -> set[Path]:
    """The library's SQLite database file and its companions, wherever they are."""
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return set()
    database = Path(url.database.removeprefix("file:")).resolve()
    companions = ("-wal", "-shm", "-journal")
    return {database, *(database.with_name(database.name + end) for end in companions)}


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path``, then rename it over: never half a file at ``path``."""
    try:
        handle, temporary = tempfile.mkstemp(".tmp", f".{path.name}.", path.parent)
    except OSError as error:  # name the file asked for, not the temporary one
        raise OSError(error.errno, error.strerror, str(path)) from error
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _empty(path: Path) -> bool:
    """An empty file holds nothing to lose (``mktemp --suffix .pdf`` makes one to write to)."""
    return path.is_file() and path.stat().st_size == 0


def _earlier_export(path: Path, kind: str) -> bool:
    head = _head(path)
    if kind == "pdf":
        return head.startswith(b"%PDF-")
    return head[4:8] == b"ftyp" and head[8:12] in VIDEO_BRANDS


def _what(path: Path) -> str:
    if not path.is_file():
        return "it is not a regular file"
    head = _head(path)
    if not head:
        return "an empty file"
    if head[4:8] == b"ftyp":
        return f"an ISO media file of brand {head[8:12].decode('latin-1').strip()!r}"
    return next((what for magic, what in KNOWN_FILES if head.startswith(magic)), "another file")


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(16)
    except OSError:
        return b""  # unreadable: not known to be an export, so it is left alone
