"""Links a browser can fetch a story's stored media by: unguessable, and tied to the file's version.

A link names ``<story id>/<token>/<file name>`` of a file in ``<data_dir>/media/<story id>/``. The
token is an HMAC, under a random secret this installation keeps in its data folder, of that name
and the file's size and modification time: only a page that showed the story can hand one out,
nobody can make one up for another story or file, and a file written anew (a narration converted,
a picture replaced) gets a new link. So a browser may keep what a link gave it for good.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

from .kept_secrets import kept_secret

SECRET_FILE = ".media-link-secret"
# What a stored media file is called (see storage.media): no folders, no dot files, no "..".
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


@dataclass(frozen=True)
class MediaLink:
    story_id: int
    token: str
    name: str  # the file's name in the story's media folder

    @property
    def path(self) -> str:
        """The link's path below the media route: ``<story id>/<token>/<name>``."""
        return f"{self.story_id}/{self.token}/{self.name}"


def link(data_dir: Path, rel: str) -> MediaLink | None:
    """The link to a stored file, by its path relative to ``data_dir`` (``media/<id>/<name>``);
    None when the file is missing or is not a story's media file."""
    parts = rel.split("/")
    if len(parts) != 3 or parts[0] != "media" or not parts[1].isdigit():
        return None
    story_id, name = int(parts[1]), parts[2]
    token = _token(data_dir, story_id, name)
    return MediaLink(story_id, token, name) if token else None


def resolve(data_dir: Path, story_id: int, token: str, name: str) -> Path | None:
    """The file a link names, if the link is genuine and the file is still the one it was made
    for; None otherwise (a guessed, altered or outdated link, or a file since deleted)."""
    if not (_TOKEN.fullmatch(token) and _NAME.fullmatch(name)):
        return None
    expected = _token(data_dir, story_id, name)
    if expected is None or not hmac.compare_digest(expected, token):
        return None
    return _media_file(data_dir, story_id, name)


def _token(data_dir: Path, story_id: int, name: str) -> str | None:
    if not _NAME.fullmatch(name):
        return None
    try:
        stat = _media_file(data_dir, story_id, name).stat()
    except OSError:
        return None
    message = f"{story_id}/{name}/{stat.st_size}/{stat.st_mtime_ns}".encode()
    digest = hmac.new(_secret(str(data_dir.resolve())), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def _media_file(data_dir: Path, story_id: int, name: str) -> Path:
    return data_dir / "media" / str(int(story_id)) / name


@functools.cache
def _secret(data_dir: str) -> bytes:
    return kept_secret(Path(data_dir) / SECRET_FILE)
