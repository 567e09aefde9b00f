"""`python -m bench.transport`: the two ways a browser's microphone can reach the app, measured on
loopback with 20 s of the benchmark story (what docs/live.md's transport decision rests on).

- WebRTC as streamlit-webrtc does it: aiortc peers, Opus in RTP over UDP, ICE with the STUN
  server streamlit-webrtc configures by default (stun.l.google.com, unreachable here) and with no
  ICE server at all. Needs aiortc, which the app does not depend on: install it anywhere and put it
  on PYTHONPATH (``pip install --target /tmp/aiortc aiortc==1.16.0``).
- The app's own WebSocket (s2i_ui/live_routes.py) served by uvicorn: 100 ms chunks of PCM, each
  acknowledged with the number of samples the server kept.

Reported: seconds to connect (first audio at the server), per-chunk delay (sent to received),
CPU seconds per second of audio, and the audio that arrived. Writes bench/results/transport.json.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from s2i_core.audio import decode_audio
from s2i_core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "bench" / "clips" / "story_20s.ogg"
GOOGLE_STUN = "stun:stun.l.google.com:19302"


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def webrtc(samples: np.ndarray, ice_servers: list[str]) -> dict:
    import av
    from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection

    sent: dict[int, float] = {}

    class Story(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.position, self.started = 0, None

        async def recv(self):
            step = 320  # 20 ms at 16 kHz, as a browser's Opus frames
            if self.started is None:
                self.started = time.monotonic()
            await asyncio.sleep(max(0, self.started + self.position / 16000 - time.monotonic()))
            chunk = samples[self.position : self.position + step]
            if len(chunk) < step:
                chunk = np.zeros(step, "f4")
            frame = av.AudioFrame.from_ndarray(
                (chunk * 32767).astype("<i2").reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate, frame.pts = 16000, self.position
            frame.time_base = fractions.Fraction(1, 16000)
            sent[self.position] = time.monotonic()
            self.position += step
            return frame

    config = RTCConfiguration([RTCIceServer(urls=u) for u in ice_servers])
    browser, server = RTCPeerConnection(config), RTCPeerConnection(config)
    arrived: list[float] = []
    first: list[float] = []
    readers: list[asyncio.Future] = []

    @server.on("track")
    def on_track(track) -> None:
        async def read() -> None:
            while True:
                try:
                    await track.recv()
                except Exception:
                    return
                arrived.append(time.monotonic())
                if not first:
                    first.append(time.monotonic())

        readers.append(asyncio.ensure_future(read()))

    browser.addTrack(Story())
    cpu, started = _cpu(), time.monotonic()
    await browser.setLocalDescription(await browser.createOffer())  # gathers every candidate
    await server.setRemoteDescription(browser.localDescription)
    await server.setLocalDescription(await server.createAnswer())
    await browser.setRemoteDescription(server.localDescription)
    seconds = len(samples) / 16000
    while time.monotonic() - started < seconds + 15 and (not first or len(arrived) < 5):
        await asyncio.sleep(0.05)
    connect = (first[0] - started) if first else None
    await asyncio.sleep(seconds)
    cpu = _cpu() - cpu
    await browser.close()
    await server.close()
    stamps = sorted(sent.values())
    delays = [a - s for a, s in zip(arrived, stamps, strict=False)]  # frames arrive in order
    return {
        "ice_servers": ice_servers,
        "connect_s": round(connect, 2) if connect is not None else None,
        "delay_ms_median": round(1000 * statistics.median(delays), 1) if delays else None,
        "cpu_s_per_audio_s": round(cpu / (time.monotonic() - started), 3),
        "audio_arrived_s": round(len(arrived) * 0.02, 1),  # the decoder gives 20 ms frames
    }


async def websocket(samples: np.ndarray) -> dict:
    import websockets

    from bench.live import _serve
    from s2i_core.live import LIVE, LiveOptions, start_live_story
    from s2i_core.live.recording import to_pcm
    from s2i_core.speech import DecodingOptions, TranscriptionInfo
    from s2i_core.storage import Library
    from s2i_core.story.drafts import StoryOptions

    class Deaf:  # the transport alone: nothing is transcribed
        name = model = device = compute_type = "none"
        options = DecodingOptions()

        def transcribe(self, *args, **kwargs):
            return iter(()), TranscriptionInfo("en", 1.0, 0.0, *"none")

    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"s2i-transport-{os.getpid()}"
    settings = Settings(data_dir=scratch, image_backend="none", llm="off")
    options = LiveOptions(hear_again=False)
    live = start_live_story(
        Library(settings), settings, StoryOptions(title="t"), Deaf(), None, "en", options
    )
    token = LIVE.add(live)
    port, server = _serve()
    cpu, started = _cpu(), time.monotonic()
    delays = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/live/{token}") as socket:
        json.loads(await socket.recv())  # hello
        connect = time.monotonic() - started
        step = 1600
        begun = time.monotonic()
        for n, first in enumerate(range(0, len(samples), step)):
            await asyncio.sleep(max(0.0, begun + n * 0.1 - time.monotonic()))
            moment = time.monotonic()
            await socket.send(first.to_bytes(4, "little") + to_pcm(samples[first : first + step]))
            await socket.send(json.dumps({"type": "kept?"}))
            while not json.loads(await socket.recv()).get("asked"):
                pass
            delays.append(time.monotonic() - moment)
        await socket.send(json.dumps({"type": "stop"}))
    cpu = _cpu() - cpu
    server.should_exit = True
    return {
        "connect_s": round(connect, 3),
        "round_trip_ms_median": round(1000 * statistics.median(delays), 1),
        "round_trip_ms_p90": round(1000 * sorted(delays)[int(0.9 * (len(delays) - 1))], 1),
        "cpu_s_per_audio_s": round(cpu / (time.monotonic() - started), 3),
        "audio_arrived_s": round(live.heard_samples / 16000, 1),
    }


def main() -> None:
    samples = decode_audio(CLIP, Settings()).samples
    results: dict = {"clip": CLIP.name, "load": os.getloadavg()}
    results["websocket"] = asyncio.run(websocket(samples))
    try:
        import aiortc  # noqa: F401
    except ImportError:
        results["webrtc"] = "aiortc is not installed here (see this module's docstring)"
    else:
        results["webrtc, Google STUN (streamlit-webrtc's default)"] = asyncio.run(
            webrtc(samples, [GOOGLE_STUN])
        )
        results["webrtc, no ICE server"] = asyncio.run(webrtc(samples, []))
    results["load_after"] = os.getloadavg()
    out = ROOT / "bench" / "results" / "transport.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
