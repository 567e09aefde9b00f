"""One student's visit to a story, over Streamlit's own protocol, as a browser makes it.

A browser that opens ``/story?story=ID`` connects the WebSocket ``/_stcore/stream``, sends a
``rerun_script`` BackMsg with the page name and the query string, and draws the ForwardMsgs the
script sends until ``script_finished``; then it loads what the page points at: the storyboard's
pictures (Streamlit's ``/media/...`` or our links) and whatever the replay's HTML refers to (the
first picture and the narration before the replay can show and play anything). Inline pictures
and audio (data: URIs) arrive inside the page itself. A visit here does the same, without drawing.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

STREAM = "/_stcore/stream"
SUCCESS = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
BROWSER_CONNECTIONS = 6  # what a browser opens to one host over HTTP/1.1
# the replay's data: its pictures and narration, each a URL or a data: URI
_REPLAY_DATA = re.compile(r'<script id="story-data" type="application/json">(.*?)</script>', re.S)


@dataclass
class Visit:
    """Seconds from the page's request to: the script's end, the replay on screen (its first
    picture and the sentence drawn, the narration loaded so Play plays), and every picture of the
    page loaded. ``error`` says what went wrong, if anything."""

    script_s: float = 0.0
    screen_s: float = 0.0
    complete_s: float = 0.0
    page_bytes: int = 0  # what the WebSocket carried
    media_bytes: int = 0  # what the page's pictures and narration weighed over HTTP
    error: str = ""
    urls: list[str] = field(default_factory=list)


class Student:
    """A browser tab: one WebSocket session, kept open (idle) after its visit until ``close``."""

    def __init__(self, base_url: str, fetcher: ThreadPoolExecutor):
        self.base_url = base_url.rstrip("/")
        self.fetcher = fetcher
        self.socket: websockets.ClientConnection | None = None

    async def visit(self, page: str, query: str, timeout: float = 600) -> Visit:
        visit = Visit()
        started = time.perf_counter()
        try:
            replay, pictures = await asyncio.wait_for(self._run_page(page, query, visit), timeout)
            visit.script_s = time.perf_counter() - started
            links = [u for u in dict.fromkeys(replay + pictures) if u and not u.startswith("data:")]
            first = [u for u in replay[:1] + replay[-1:] if u in links]
            await self._load(first, visit)  # the replay's first picture and the narration
            visit.screen_s = time.perf_counter() - started
            await self._load([u for u in links if u not in first], visit)
            visit.complete_s = time.perf_counter() - started
        except Exception as error:  # every failure is a result here
            visit.error = f"{type(error).__name__}: {error}"[:200]
        return visit

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    async def _run_page(self, page: str, query: str, visit: Visit) -> tuple[list[str], list[str]]:
        ws_url = "ws" + self.base_url.removeprefix("http") + STREAM
        self.socket = await websockets.connect(
            ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=120
        )
        message = BackMsg()
        message.rerun_script.query_string = query
        message.rerun_script.page_name = page
        message.rerun_script.context_info.timezone = "Europe/London"
        message.rerun_script.context_info.locale = "en-GB"
        message.rerun_script.context_info.url = f"{self.base_url}/{page}?{query}"
        await self.socket.send(message.SerializeToString())
        replay: list[str] = []
        pictures: list[str] = []
        async for raw in self.socket:
            visit.page_bytes += len(raw)
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "delta":
                _collect(forward, replay, pictures)
            elif kind == "page_not_found":
                raise RuntimeError(f"page not found: {page}")
            elif kind == "script_finished":
                if forward.script_finished != SUCCESS:
                    raise RuntimeError(f"script ended with status {forward.script_finished}")
                return replay, pictures
        raise RuntimeError("the server closed the session before the script finished")

    async def _load(self, urls: list[str], visit: Visit) -> None:
        """Fetch ``urls`` as a browser would: at most BROWSER_CONNECTIONS at a time."""
        if not urls:
            return
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(BROWSER_CONNECTIONS)

        async def one(url: str) -> None:
            async with gate:
                size = await loop.run_in_executor(self.fetcher, fetch, urljoin(self.base_url, url))
                visit.media_bytes += size
                visit.urls.append(url)

        await asyncio.gather(*(one(u) for u in urls))


def _collect(forward: ForwardMsg, replay: list[str], pictures: list[str]) -> None:
    element = forward.delta.new_element
    kind = element.WhichOneof("type")
    if kind == "exception":
        raise RuntimeError(f"the page raised {element.exception.type}: {element.exception.message}")
    if kind == "imgs":
        pictures.extend(image.url for image in element.imgs.imgs)
    elif kind == "iframe" and element.iframe.srcdoc:
        found = _REPLAY_DATA.search(element.iframe.srcdoc)
        if found:  # [first picture, ..., narration]: what the replay loads, in that order
            data = json.loads(found.group(1))
            replay.extend([f["image"] for f in data["frames"] if f["image"]] + [data["audio"]])


def fetch(url: str, timeout: float = 300) -> int:
    """GET ``url`` to its end; its size in bytes. Raises on any answer but 200 or 206."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        body = response.read()
        if response.status not in (200, 206):
            raise RuntimeError(f"{response.status} for {parts.path}")
        return len(body)
    finally:
        connection.close()
