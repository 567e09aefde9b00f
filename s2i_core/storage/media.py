"""Media files on disk: ``<data_dir>/media/<story_id>/<name>``, written atomically."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..errors import StorageError
from ..i18n import msg

IMAGE_SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


class MediaFiles:
    """The media folder of one data folder; paths handed out are relative to ``data_dir``."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.root = data_dir / "media"
        if not self.root.is_dir():
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StorageError(
                    msg(
                        "The data folder {data_dir} cannot be used ({reason}). Choose another "
                        "folder with S2I_DATA_DIR or ask for write access to it.",
                        data_dir=data_dir,
                        reason=error.strerror.lower(),
                    )
                ) from error

    def path(self, rel: str) -> Path:
        """The absolute path of a stored relative path; refuses anything outside the data folder."""
        candidate = (self.data_dir / rel).resolve()
        if not candidate.is_relative_to(self.data_dir):
            raise StorageError(
                msg(
                    "The stored file path {rel} points outside the data folder; it was not opened.",
                    rel=f"{rel!r}",
                )
            )
        return candidate

    def write(self, story_id: int, name: str, data: bytes) -> str:
        folder = self.root / str(int(story_id))
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return (folder / name).relative_to(self.data_dir).as_posix()

    def remove(self, rel_paths: Iterable[str]) -> None:
        for rel in rel_paths:
            self.path(rel).unlink(missing_ok=True)

    def remove_story(self, story_id: int) -> None:
        shutil.rmtree(self.root / str(int(story_id)), ignore_errors=True)

    def remove_temporary_files(self, older_than: float = 0.0) -> None:
        cutoff = time.time() - older_than
        for leftover in self.root.rglob("*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime <= cutoff:
                    leftover.unlink()


def image_suffix(data: bytes) -> str:
    try:
        kind = Image.open(io.BytesIO(data)).format
    except UnidentifiedImageError:
        kind = None
    if kind not in IMAGE_SUFFIXES:
        raise StorageError(
            msg("The picture to save is not a PNG, JPEG or WebP image; it was not kept.")
        )
    return IMAGE_SUFFIXES[kind]


def narration_suffix(ext: str) -> str:
    suffix = ext.lower().lstrip(".")
    if not re.fullmatch(r"[a-z0-9]{1,5}", suffix):
        raise ValueError(f"{ext!r} is not an audio file extension such as webm, wav or mp3.")
    return suffix
