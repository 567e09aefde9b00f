"""Exports kept beside a story's pictures, made once per version of the story.

A stored export is named by a fingerprint of everything the PDF and the video show (title, class,
language, narration, every sentence, its timing, its picture), so the file of an unchanged story
is found and reused, and a story whose sentence was edited or picture redrawn gets a fresh one.
Files are written atomically: a reader never sees half an export, and a cancelled or failed export
leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExportPathError, NothingToExportError, StoryNotFoundError
from ..i18n import msg
from ..storage import Library, StoryRecord
from .pdf import export_pdf
from .video import RESOLUTIONS, VideoOptions, export_video

FORMATS = ("pdf", "video")
FOLDER = "exports"  # under media/<story id>/; removed with the story


@dataclass(frozen=True)
class ExportOptions:
    format: str = "pdf"  # "pdf" (the printable storyboard) or "video" (narrated MP4)
    resolution: str = "720p"  # of a video: "720p" or "1080p"; a PDF ignores it

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}")

    @classmethod
    def from_job(cls, options: dict[str, Any]) -> ExportOptions:
        return cls(options.get("format", "pdf"), options.get("resolution", "720p"))

    def as_job(self) -> dict[str, str]:
        if self.format == "pdf":
            return {"format": "pdf"}
        return {"format": self.format, "resolution": self.resolution}

    @property
    def label(self) -> str:
        return msg("PDF") if self.format == "pdf" else msg("{size} video", size=self.resolution)

    @property
    def stem(self) -> str:
        return "storyboard" if self.format == "pdf" else f"video-{self.resolution}"

    @property
    def suffix(self) -> str:
        return ".pdf" if self.format == "pdf" else ".mp4"


# What changes while a story is drawn but is not shown by an export.
_NOT_SHOWN = ("status", "updated_at", "sentences_missing", "bible", "transcript")


def fingerprint(story: StoryRecord) -> str:
    """A short digest of the story as an export shows it: equal for an unchanged story."""
    shown = {k: v for k, v in dataclasses.asdict(story).items() if k not in _NOT_SHOWN}
    text = json.dumps(shown, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stored_path(library: Library, story: StoryRecord, options: ExportOptions) -> Path:
    """Where the export of this version of the story is (or will be) kept."""
    folder = library.media_dir / str(int(story.id)) / FOLDER
    return folder / f"{options.stem}-{fingerprint(story)}{options.suffix}"


def find(library: Library, story: StoryRecord, options: ExportOptions) -> Path | None:
    """The finished export of this version of the story, if one was made."""
    path = stored_path(library, story, options)
    return path if path.is_file() else None


def make(
    library: Library,
    story: StoryRecord,
    options: ExportOptions,
    progress: Callable[[float], None] | None = None,
) -> Path:
    """Make the export of this version of the story, or return the one already made. Earlier
    exports of the same kind are removed once the new one is in place. ``progress`` hears the
    fraction done; an exception it raises (a cancelled job) stops the export with no file left."""
    require_content(story, options)
    target = stored_path(library, story, options)
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if options.format == "video":
            export_video(story, library, target, VideoOptions(options.resolution), progress)
        else:
            _write_pdf(story, library, target)
    except OSError as error:
        raise _not_written(target, error) from error
    _remove_older(library, story.id, options, target)
    return target


def _remove_older(library: Library, story_id: int, options: ExportOptions, made: Path) -> None:
    """Remove the story's exports of this kind other than the one just made and the one of the
    story as it is now (it may have changed while this one was made, and its export finished)."""
    try:
        keep = {made, stored_path(library, library.get_story(story_id), options)}
    except StoryNotFoundError:
        return  # deleted meanwhile: its media folder went with it
    for older in made.parent.glob(f"{options.stem}-*{options.suffix}"):
        if older not in keep:
            older.unlink(missing_ok=True)


def require_content(story: StoryRecord, options: ExportOptions) -> None:
    """Refuse, with what to do, an export that would show nothing."""
    if not story.frames:
        raise NothingToExportError(
            msg(
                "“{title}” has no sentences yet, so there is nothing to export. "
                "Transcribe the recording first.",
                title=story.title,
            )
        )
    if options.format == "pdf" and not any(f.status == "done" for f in story.frames):
        raise NothingToExportError(
            msg(
                "No picture of “{title}” has been drawn yet, so the PDF would show empty "
                "frames. Draw the pictures first, then make the PDF.",
                title=story.title,
            )
        )


def _write_pdf(story: StoryRecord, library: Library, target: Path) -> None:
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            export_pdf(story, library, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _not_written(target: Path, error: OSError) -> ExportPathError:
    if error.errno == errno.ENOSPC:
        reason = "the disk is full; free some space, then make it again"
    else:
        reason = f"{error.strerror or error}; check that the data folder can be written to"
    return ExportPathError(
        msg(
            "The export could not be saved in {parent} ({reason}).",
            parent=target.parent,
            reason=reason,
        )
    )
