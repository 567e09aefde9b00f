"""The live story's connection (s2i_ui/live_routes.py): numbered audio kept once across a dropped
connection, every event delivered to every screen, a projector that only watches, and a clear
close for a story that is not there."""

from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from s2i_core.live import LIVE, LiveOptions, start_live_story
from s2i_core.live.recording import to_pcm
from s2i_core.settings import Settings
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions
from s2i_ui.live_routes import live_routes
from tests.live.test_live import FINISH_GUARD_S, ScriptedEngine

CHUNK = to_pcm(np.full(1600, 0.1, "f4"))


@pytest.fixture
def told(tmp_path):
    settings = Settings(data_dir=tmp_path, image_backend="none", llm="off")
    library = Library(settings)
    live = start_live_story(
        library, settings, StoryOptions(title="Wire"), ScriptedEngine(), None, "en",
        LiveOptions(hear_again=False),
    )  # fmt: skip
    token = LIVE.add(live)
    client = TestClient(Starlette(routes=live_routes(lambda path: path)))
    yield client, token, live
    live.stop()
    live.finished.wait(FINISH_GUARD_S)


def numbered(offset: int, pcm: bytes = CHUNK) -> bytes:
    return offset.to_bytes(4, "little") + pcm


def kept(socket) -> int:
    """How much audio the server kept, asked after what was sent (messages are taken in order)."""
    socket.send_text(json.dumps({"type": "kept?"}))
    while not (answer := until(socket, "kept")).get("asked"):
        pass  # the acknowledgement sent by itself, four times a second
    return answer["samples"]


def until(socket, kind: str) -> dict:
    while True:
        event = socket.receive_json()
        if event["type"] == kind:
            return event


def test_audio_resent_after_a_dropped_connection_is_kept_once(told):
    client, token, live = told
    with client.websocket_connect(f"/api/live/{token}") as socket:
        assert socket.receive_json()["samples"] == 0
        socket.send_bytes(numbered(0))
        assert kept(socket) == 1600
    with client.websocket_connect(f"/api/live/{token}") as socket:  # the tab reconnects
        assert until(socket, "hello")["samples"] == 1600
        socket.send_bytes(numbered(0))  # not acknowledged before the drop: sent again
        assert kept(socket) == 1600
        socket.send_bytes(numbered(1600))
        assert kept(socket) == 3200
    assert live.recording.samples().shape == (3200,)


def test_every_screen_gets_every_event_and_a_projector_only_watches(told):
    client, token, live = told
    with client.websocket_connect(f"/api/live/{token}?role=screen") as screen:
        until(screen, "hello")
        screen.send_bytes(numbered(0))  # ignored: a projector has no microphone
        assert until(screen, "state")["state"] == "listening"
        with client.websocket_connect(f"/api/live/{token}") as teller:
            teller.send_text(json.dumps({"type": "stop"}))
            assert until(teller, "state")["state"] == "listening"  # from the start (since=0)
            assert until(teller, "state")["state"] == "done"
        assert until(screen, "state")["state"] == "done"
    assert live.heard_samples == 0


def test_a_story_that_is_not_here_is_closed_with_a_reason(told):
    client, _, _ = told
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/api/live/not-a-story") as socket,
    ):
        socket.receive_json()
    assert closed.value.code == 4404


def test_the_projector_page_and_a_missing_picture(told):
    client, token, _ = told
    page = client.get(f"/api/live/{token}/projector")
    assert page.status_code == 200 and "WebSocket" in page.text
    assert client.get(f"/api/live/{token}/picture/999").status_code == 404
    assert client.get("/api/live/nope/projector").status_code == 404
