"""`python -m bench live`: a story told live, played in real time, through the real connection.

The 60 s benchmark story (bench/clips/story_60s.ogg) is sent as a browser sends it: 100 ms chunks
of 16 kHz PCM, each at the moment it would have been spoken, over the app's own WebSocket route
(s2i_ui/live_routes.py, served by uvicorn on loopback), into the default speech engine on this CPU.
The client notes when each event arrives. Measured per sentence:

- text: the sentence on the client's screen, seconds after its last word was spoken (the word's
  end from the whole-recording pass that re-times the story when the teacher stops);
- picture request: seconds from the text on screen to the request reaching the picture service
  (the NVIDIA stand-in), with the scene writer off, and on (LLM stand-in answering in
  LLM_LATENCY s: target writer latency + 0.5 s);
- words: WER of the live sentences and of the whole recording transcribed afterwards (default
  engine and beam), against the script the clip was spoken from.

Writes bench/results/live.md, live.json and live.png; the load average is recorded beside them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import threading
import time
from pathlib import Path

import numpy as np

from s2i_core.audio import decode_audio
from s2i_core.live import LIVE, LiveOptions, LiveState, start_live_story
from s2i_core.live.recording import to_pcm
from s2i_core.pictures import load_backend
from s2i_core.settings import Settings
from s2i_core.speech import load_engine
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions
from tests.llm_stub import LLMStub
from tests.nvidia_stub import NvidiaStub
from tests.wer import word_error_rate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CLIP = ROOT / "bench" / "clips" / "story_60s.ogg"
SIX = (
    "A little girl named Mia found a map in her garden. The map showed a path to a tall old "
    "tree. She walked past the pond and over a wooden bridge. At the tree she found a small "
    "golden box. Inside the box was a letter from her grandmother. Mia smiled and ran home to "
    "read it with her family."
)
SCRIPT = (  # bench/clips/make_clips.sh, story_60s
    f"{SIX} Mr. Brown had a small red boat. On Monday he sailed across the lake to visit his "
    "sister. The wind was strong, and the waves were high. He was not afraid, and he sang a "
    "happy song. At noon he reached the island, where his sister waited with warm bread and "
    "apple pie. They ate together and watched the birds fly over the water. In the evening the "
    "sky turned orange and pink. Mr. Brown sailed home slowly under the first stars. His cat was "
    "waiting for him at the door. The next morning he told the whole town about his trip, and "
    "the children asked him to take them sailing too."
)
CHUNK_S = 0.1
PICTURE_LATENCY = 1.0  # the image stand-in's answer time
LLM_LATENCY = 1.5  # the LLM stand-in's answer time
TARGET_TEXT_S, TARGET_PICTURE_S = 2.0, 0.5
CASES = {  # name: (S2I_LLM, beam of the live sentences; None: LiveOptions' default, greedy)
    "writer off": ("off", None),
    "writer off, beam 5": ("off", 5),
    "writer on": ("auto", None),
}


def live(scratch: Path) -> dict:
    load_before = os.getloadavg()
    engine = load_engine(Settings(data_dir=scratch / "model"))
    samples = decode_audio(CLIP, Settings()).samples
    results: dict = {"clip": CLIP.name, "seconds": round(len(samples) / 16000, 1)}
    for mode, (llm, beam) in CASES.items():
        print(f"   live story, {mode}", flush=True)
        results[mode] = _told_live(samples, engine, scratch / mode.split()[0], llm, beam)
    started = time.monotonic()
    segments, _ = engine.transcribe(samples, language="en")
    whole = " ".join(s.text.strip() for s in segments)
    results["whole_seconds"] = round(time.monotonic() - started, 2)
    results["wer_whole"] = round(word_error_rate(SCRIPT, whole), 4)
    results["load"] = {"before": load_before, "after": os.getloadavg()}
    results["engine"] = f"{engine.name} {engine.model} {engine.device} {engine.compute_type}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "live.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "live.md").write_text(report(results, RESULTS) + "\n")
    print((RESULTS / "live.md").read_text())
    return results


def _told_live(samples: np.ndarray, engine, data_dir: Path, llm: str, beam: int | None) -> dict:
    with (
        NvidiaStub(latency=PICTURE_LATENCY) as images,
        LLMStub(key=images.key, latency=LLM_LATENCY) as writer,
    ):
        settings = Settings(
            data_dir=data_dir,
            nvidia_api_key=images.key,
            nvidia_base_url=images.base_url,
            nvcf_status_url=images.status_url,
            llm=llm,
            llm_base_url=writer.base_url,
            image_rpm=0,
        )
        library = Library(settings)
        options = StoryOptions(title="Bench")
        backend = load_backend(settings)
        live_options = LiveOptions() if beam is None else LiveOptions(beam_size=beam)
        story = start_live_story(library, settings, options, engine, backend, "en", live_options)
        token = LIVE.add(story)
        received, started = asyncio.run(_stream(samples, token))
        story.finished.wait(600)
        requests = [
            (r.time, json.dumps(r.body, ensure_ascii=False)) for r in images.generation_requests()
        ]
        return _measure(library, story.story_id, received, started, requests)


async def _stream(samples: np.ndarray, token: str) -> tuple[list[tuple[float, dict]], float]:
    """Play the recording in real time over the WebSocket; every event and when it arrived."""
    import websockets

    port, server = _serve()
    received: list[tuple[float, dict]] = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/live/{token}") as socket:
        reading = asyncio.create_task(_read(socket, received))
        step = int(CHUNK_S * 16000)
        started = time.monotonic()
        for n, first in enumerate(range(0, len(samples), step)):
            await asyncio.sleep(max(0.0, started + n * CHUNK_S - time.monotonic()))
            chunk = to_pcm(samples[first : first + step])
            await socket.send(first.to_bytes(4, "little") + chunk)
        await socket.send(json.dumps({"type": "stop"}))
        await reading
    server.should_exit = True
    return received, started


async def _read(socket, received: list) -> None:
    async for message in socket:
        event = json.loads(message)
        received.append((time.monotonic(), event))
        if event.get("type") == "state" and event.get("state") == "done":
            return


def _serve():
    """The live routes alone, served by uvicorn on a free loopback port, in a thread."""
    import uvicorn
    from starlette.applications import Starlette

    from s2i_ui.live_routes import live_routes

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        Starlette(routes=live_routes(lambda p: p)), port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return port, server


def _measure(library: Library, story_id: int, received, started: float, requests: list) -> dict:
    story = library.get_story(story_id)
    by_frame = {f.id: f for f in story.frames}
    rows = []
    for at, event in received:
        if event["type"] != "sentence" or event.get("change") != "new":
            continue
        frame = by_frame[event["frame_id"]]
        spoken = started + frame.end  # re-timed by the whole pass when it reads the same
        asked = next((t for t, body in sorted(requests) if frame.prompt[:60] in body), None)
        rows.append({
            "index": frame.index,
            "text": event["text"],
            "text_s": round(at - spoken, 3),
            "picture_s": round(asked - at, 3) if asked else None,
            "heard_s": round(event.get("heard_s", 0.0), 3),
        })  # fmt: skip
    live_text = " ".join(r["text"] for r in rows)
    state = LiveState.read(library, story_id)
    return {
        "sentences": rows,
        "wer_live": round(word_error_rate(SCRIPT, live_text), 4),
        "suggestions": len(state.suggestions) if state else 0,
        "final_pass_s": _final_pass_seconds(received),
    }


def _final_pass_seconds(received) -> float | None:
    kinds = ("state", "heard_again")
    times = {e.get("state") or e["type"]: at for at, e in received if e["type"] in kinds}
    if "hearing again" in times and "heard_again" in times:
        return round(times["heard_again"] - times["hearing again"], 2)
    return None


def _stats(values: list[float]) -> tuple[float, float]:
    values = sorted(v for v in values if v is not None)
    if not values:
        return float("nan"), float("nan")
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return statistics.median(values), p90


def case_cells(case: dict) -> str:
    """A case's table cells: sentences, text and picture latency (median / p90), live WER."""
    text = _stats([s["text_s"] for s in case["sentences"]])
    picture = _stats([s["picture_s"] for s in case["sentences"]])
    return (
        f"{len(case['sentences'])} | {text[0]:.2f} / {text[1]:.2f} | "
        f"{picture[0]:.2f} / {picture[1]:.2f} | {case['wer_live']:.3f}"
    )


def report(r: dict, out_dir: Path) -> str:
    rows = [
        f"## Told live: {r['clip']} ({r['seconds']:.0f} s) played in real time\n",
        f"Engine: {r['engine']}; live sentences greedy (the default) or with beam 5; the whole "
        "pass with the engine's beam (5, greedy first where sure). Picture stand-in "
        f"{PICTURE_LATENCY:g} s, LLM stand-in {LLM_LATENCY:g} s. "
        f"Load average {r['load']['before'][0]:.1f} before, {r['load']['after'][0]:.1f} after "
        "(2 cores, shared).\n",
        "| case | sentences | text after last word: median / p90 s | picture request after "
        "text: median / p90 s | WER live | suggestions |",
        "|---|---|---|---|---|---|",
    ]
    for mode in CASES:
        rows.append(f"| {mode} | {case_cells(r[mode])} | {r[mode]['suggestions']} |")
    off, beam = r["writer off"], r["writer off, beam 5"]
    rows += [
        "",
        f"Whole recording transcribed afterwards: WER {r['wer_whole']:.3f} "
        f"({r['whole_seconds']:.1f} s); live minus whole: "
        f"{off['wer_live'] - r['wer_whole']:+.3f} greedy (the default), "
        f"{beam['wer_live'] - r['wer_whole']:+.3f} with beam 5 (target ≤ +0.05). Targets: text ≤ "
        f"{TARGET_TEXT_S:g} s (median); picture request ≤ {TARGET_PICTURE_S:g} s after the text "
        f"(writer off), ≤ {LLM_LATENCY + TARGET_PICTURE_S:g} s (writer on). The pass over the "
        f"whole recording after stop took {off['final_pass_s']} s.",
        "",
        "![Live latencies](live.png)",
    ]
    _plot(r, out_dir / "live.png")
    return "\n".join(rows)


def _plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    colours = ("tab:blue", "tab:green", "tab:orange")
    for mode, colour in zip(CASES, colours, strict=True):
        rows = r[mode]["sentences"]
        axes[0].plot([s["index"] + 1 for s in rows], [s["text_s"] for s in rows], "o-",
                     color=colour, label=mode)  # fmt: skip
        pictures = [(s["index"] + 1, s["picture_s"]) for s in rows if s["picture_s"] is not None]
        axes[1].plot(*zip(*pictures, strict=True), "o-", color=colour, label=mode)
    axes[0].axhline(TARGET_TEXT_S, color="grey", linestyle="--", label="target")
    axes[0].set(title="Text on screen after the last word", xlabel="sentence", ylabel="s")
    axes[1].axhline(TARGET_PICTURE_S, color="tab:blue", linestyle="--", label="target, writer off")
    axes[1].axhline(LLM_LATENCY + TARGET_PICTURE_S, color="tab:orange", linestyle="--",
                    label="target, writer on")  # fmt: skip
    axes[1].set(title="Picture request after the text", xlabel="sentence", ylabel="s")
    for axis in axes:
        axis.legend(fontsize=8)
    load = r["load"]["before"][0]
    figure.suptitle(f"{r['clip']} told live in real time (load average {load:.1f})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
