"""A story's pictures and narration, served from disk by a route of our own beside Streamlit's.

Pages hand the browser links (``media_url``) instead of the bytes: a class opening the same
story fetches each file in parallel from one copy in memory (or from disk, by range requests,
which Safari makes for all audio), with caching headers, rather than thirty copies going
through every session's WebSocket. Links are unguessable and tied to the file's version
(s2i_core.media_links), so what a browser got from one it may keep for good (``immutable``).

The route lives under ``/app/static/``: Streamlit takes such a URL as it is in ``st.image`` and
the browser puts the app's base URL (``server.baseUrlPath``) before it, as it does for Streamlit's
own static files; our route comes first, so it also works when static serving is on.

Served when the app runs through ``s2i_ui/server.py`` (``make run``), which mounts ``routes``;
under a bare ``streamlit run Home.py`` (and AppTest) ``media_url`` gives None and pages send the
bytes themselves, as before.
"""

from __future__ import annotations

import mimetypes
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from s2i_core import media_links
from s2i_core.errors import StorageError
from s2i_core.replay import AUDIO_TYPES
from s2i_core.replay_media import replay_copy
from s2i_core.storage import Library

PREFIX = "/app/static/s2i/media"
CACHE_FOR_GOOD = "private, max-age=31536000, immutable"  # the link changes when the file does
TYPES = {f".{ext}": kind for ext, kind in AUDIO_TYPES.items()}  # as the replay names them
_mounted: dict[str, str] = {}  # "base": the URL path the route is under, once mounted


def routes(url_path: Callable[[str], str]) -> list[Route]:
    """The route, at ``url_path(PREFIX + …)`` (s2i_ui.server.url_path: under the app's base URL
    path); from then on pages link to it."""
    _mounted["base"] = url_path("")
    path = url_path(PREFIX + "/{story_id:int}/{token}/{name}")
    return [Route(path, media, methods=["GET", "HEAD"])]


def served() -> bool:
    """Whether this process serves the route (pages link to files only then)."""
    return "base" in _mounted


def media_url(data_dir: Path, rel: str, *, for_streamlit: bool = False) -> str | None:
    """The URL of a stored file (``rel`` as the library stores it), or None when the routes are
    not served here or the file is missing. ``for_streamlit``: for ``st.image``, which adds the
    base URL path itself; otherwise a full path for our own HTML."""
    found = media_links.link(data_dir, rel) if served() else None
    if found is None:
        return None
    return ("" if for_streamlit else _mounted["base"]) + f"{PREFIX}/{found.path}"


def picture_source(library: Library, rel: str, *, full: bool = True) -> str:
    """What ``st.image`` shows for a stored picture: a link to its replay-size copy (``full``) or
    to the file itself, when the route is served; else the file, which Streamlit then reads,
    converts and sends itself on every run."""
    if served():
        try:
            linked = replay_copy(library.path(rel), library) if full else rel
        except (StorageError, OSError):  # not a story's picture, or not a picture: as before
            linked = None
        url = linked and media_url(library.data_dir, linked, for_streamlit=True)
        if url:
            return url
    return str(library.path(rel))


async def media(request: Request) -> Response:
    """One stored file of one story, if the link is genuine and current; 404 for anything else
    (a guessed or outdated link, a deleted story), never saying which."""
    from s2i_ui import resources

    params = request.path_params
    data_dir = resources.settings().data_dir
    path = media_links.resolve(data_dir, params["story_id"], params["token"], params["name"])
    if path is None:
        return PlainTextResponse("Not found", status_code=404)
    etag = f'"{params["token"]}"'
    headers = {"Cache-Control": CACHE_FOR_GOOD, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    kind = TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    kind = kind or "application/octet-stream"
    if "range" not in request.headers:  # a picture, or a whole narration: from memory
        content = await _kept.read(params["token"], path)
        if content is not None:
            headers["Accept-Ranges"] = "bytes"
            return Response(content, media_type=kind, headers=headers)
    return _FileResponse(path, media_type=kind, headers=headers)


class _FileResponse(FileResponse):
    chunk_size = 1024 * 1024  # a picture in one read, not sixteen (each a hop to a thread)


class _Kept:
    """The files a class is looking at, kept in memory by their link's token (a file written
    anew gets a new one): thirty students share one copy, read from disk once. Least recently
    used first out, beyond ``limit`` bytes; files over ``largest`` are always read from disk."""

    def __init__(self, limit: int = 64 << 20, largest: int = 8 << 20):
        self.limit, self.largest = limit, largest
        self.files: OrderedDict[str, bytes] = OrderedDict()
        self.size = 0

    async def read(self, token: str, path: Path) -> bytes | None:
        content = self.files.get(token)
        if content is not None:
            self.files.move_to_end(token)
            return content
        if path.stat().st_size > self.largest:
            return None
        content = await anyio.to_thread.run_sync(path.read_bytes)
        if token not in self.files:  # another request may have read it meanwhile
            self.files[token] = content
            self.size += len(content)
        while self.size > self.limit:
            self.size -= len(self.files.popitem(last=False)[1])
        return content


_kept = _Kept()
