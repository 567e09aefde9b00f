"""The live story's own connection, beside Streamlit's: a WebSocket on the app's address.

Why not WebRTC: a classroom has no STUN or TURN server (and no internet), school firewalls drop
UDP, and WebRTC's audio conceals lost packets instead of resending them, so a stutter loses words
for good. This connection is the page's own HTTP(S) origin, so wherever the page loads it
connects, TCP resends what the network drops, and every chunk is numbered: after a drop the
browser resends from what the server says it kept (docs/live.md has the measurements).

    /api/live/<token>              WebSocket. Binary: 4-byte little-endian sample offset, then
                                   16-bit PCM at 16 kHz. Text: {"type": "stop"} or "kept?". The
                                   server answers {"type": "hello"|"kept", "samples": n} (kept:
                                   four times a second, and when asked) and sends every
                                   event of the story (s2i_core.live.events) from ?since=<n>.
                                   ?role=screen only watches (a projector).
    /api/live/<token>/picture/<id> a frame's picture
    /api/live/<token>/projector    the newest picture, large, with its sentence
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from s2i_core.live import LIVE, LiveStory

EVENT_POLL_S = 0.05  # how often a connection looks for new events to send
# How often the page is told how much audio was kept (it resends the rest after a drop): on a
# loaded machine every message's answer held the audio back.
ACK_EVERY_S = 0.25
HERE = Path(__file__).resolve().parent
PROJECTOR_PAGE = HERE / "live_projector.html"


def live_routes(url_path: Callable[[str], str]) -> list:
    return [
        WebSocketRoute(url_path("/api/live/{token}"), live_socket),
        Route(url_path("/api/live/{token}/picture/{frame_id:int}"), picture),
        Route(url_path("/api/live/{token}/projector"), projector),
    ]


async def live_socket(socket: WebSocket) -> None:
    live = LIVE.get(socket.path_params["token"])
    if live is None:
        await socket.close(code=4404, reason="This live story is not here (the app restarted?)")
        return
    await socket.accept()
    telling = socket.query_params.get("role", "teller") != "screen"
    since = _number(socket.query_params.get("since"))
    if telling:
        live.connected()
    await socket.send_json({"type": "hello", "samples": live.heard_samples, "story": live.story_id})
    sending = asyncio.create_task(_send_events(socket, live, since))
    acked = 0.0
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if telling and message.get("bytes") is not None:
                kept = _hear(live, message["bytes"])  # a write to the page cache: no thread hop
                if time.monotonic() - acked >= ACK_EVERY_S:
                    await socket.send_json({"type": "kept", "samples": kept})
                    acked = time.monotonic()
            elif telling and (command := _command(message.get("text"))):
                if command == "stop":
                    live.stop()
                elif command == "kept?":  # asked: everything sent before is kept by now
                    answer = {"type": "kept", "samples": live.heard_samples, "asked": True}
                    await socket.send_json(answer)
    except (WebSocketDisconnect, RuntimeError):  # gone (a ping unanswered, a closed tab)
        pass
    finally:
        sending.cancel()
        if telling:
            live.disconnected()


def _hear(live: LiveStory, data: bytes) -> int:
    offset = int.from_bytes(data[:4], "little")
    return live.hear_at(offset, data[4:])


def _command(text: str | None) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(text or "{}").get("type", ""))
    return ""


async def _send_events(socket: WebSocket, live: LiveStory, position: int) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        while True:
            events = live.events.since(position)
            for event in events:
                await socket.send_json({k: v for k, v in event.items() if k != "at"})
            position += len(events)
            await asyncio.sleep(EVENT_POLL_S)


async def picture(request: Request) -> Response:
    live = LIVE.get(request.path_params["token"])
    if live is None:
        return Response(status_code=404)
    frame_id = request.path_params["frame_id"]
    story = await asyncio.to_thread(live.library.get_story, live.story_id)
    frame = next((f for f in story.frames if f.id == frame_id), None)
    if frame is None or not frame.image_path:
        return Response(status_code=404)
    return FileResponse(live.library.path(frame.image_path), headers={"Cache-Control": "no-store"})


async def projector(request: Request) -> Response:
    if LIVE.get(request.path_params["token"]) is None:
        return HTMLResponse("<p>This live story is not here any more.</p>", status_code=404)
    return HTMLResponse(PROJECTOR_PAGE.read_text(encoding="utf-8"))


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0
