"""File names for exports, made from the story's title: "Canción del jardín.pdf", "天地玄黄.mp4".

The title is kept as typed, in any script, with only what file systems or downloads cannot hold
replaced: path separators and the characters Windows forbids (``<>:"/\\|?*``), control and
invisible formatting characters (a right-to-left override could disguise the extension), dots
and spaces at either end, and Windows' reserved device names. Long titles are cut to a length
every file system takes, between two characters as the reader sees them.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from icu4py.breakers import CharacterBreaker

FALLBACK = "story"
MAX_BYTES = 150  # of the name before its suffix, in UTF-8: well under the usual 255
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]+')
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


def export_file_name(title: str, suffix: str) -> str:
    """The download's file name for a story called ``title``, ending in ``suffix`` (".pdf")."""
    kept = "".join(
        " " if char.isspace() else char
        for char in unicodedata.normalize("NFC", title)
        if char.isspace() or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    name = " ".join(_FORBIDDEN.sub("-", kept).split()).strip(" .-")
    name = _shortened(name).rstrip(" .-")
    if not name or _RESERVED.fullmatch(name):
        name = f"{name}-{FALLBACK}" if name else FALLBACK
    return name + suffix


def export_path(path: Path | None, title: str, suffix: str) -> Path | None:
    """``path`` itself, or in a folder named by ``path`` a file named from the title."""
    if path is not None and path.is_dir():
        return path / export_file_name(title, suffix)
    return path


def _shortened(name: str) -> str:
    if len(name.encode()) <= MAX_BYTES:
        return name
    kept, size = [], 0
    for cluster in CharacterBreaker(name, "und"):
        size += len(cluster.encode())
        if size > MAX_BYTES:
            break
        kept.append(cluster)
    return "".join(kept)
