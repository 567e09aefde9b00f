"""Told live on the lent GPU machine: bench/live.py's story, played in real time into the live
engine with the GPU speech engine (``S2I_ASR_ENGINE=auto``).

    python -m bench.gpu_live OUT_DIR        (bash bench/gpu_run.sh with S2I_BENCH=gpu_live)

The story is fed into the live story in this process, 100 ms at the moment it would have been
spoken, as the WebSocket route feeds it (the GPU machine has no web server's packages); a
sentence counts as on screen when its event is added for the screens, a few milliseconds before a
browser would have it. Writer off; the picture stand-in answers in 1 s. Measured as bench/live.py
measures: text after the sentence's last word, picture request after the text, live WER against
the whole recording transcribed afterwards. Writes OUT_DIR/gpu_live.json and gpu_live.md.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.live import CHUNK_S, CLIP, PICTURE_LATENCY, SCRIPT, _measure, case_cells
from s2i_core.audio import decode_audio
from s2i_core.live import LiveOptions, start_live_story
from s2i_core.live.recording import to_pcm
from s2i_core.pictures import load_backend
from s2i_core.settings import Settings
from s2i_core.speech import load_engine
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions
from tests.nvidia_stub import NvidiaStub
from tests.wer import word_error_rate

CASES = {"greedy (the default)": None, "beam 5": 5}  # name: beam of the live sentences


def main(out: Path) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="gpu-live-"))
    engine = load_engine(Settings.load())  # S2I_WHISPER_MODEL, S2I_ASR_ENGINE from gpu_run.sh
    samples = decode_audio(CLIP, Settings()).samples
    results: dict = {
        "clip": CLIP.name,
        "seconds": round(len(samples) / 16000, 1),
        "engine": f"{engine.name} {engine.model} {engine.device} {engine.compute_type}",
    }
    engine.transcribe(samples[: 16000 * 5], language="en")  # warm: graphs, caches
    for name, beam in CASES.items():
        print(f"   live story, {name}", flush=True)
        results[name] = told_live(samples, engine, scratch / name.split()[0], beam)
    segments, _ = engine.transcribe(samples, language="en")  # as the pass after stop heard it
    whole = " ".join(s.text.strip() for s in segments)
    results["wer_whole"] = round(word_error_rate(SCRIPT, whole), 4)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_live.json").write_text(json.dumps(results, indent=2))
    (out / "gpu_live.md").write_text(report(results) + "\n")
    print((out / "gpu_live.md").read_text())
    return results


def told_live(samples: np.ndarray, engine, data_dir: Path, beam: int | None) -> dict:
    with NvidiaStub(latency=PICTURE_LATENCY) as images:
        settings = Settings(
            data_dir=data_dir,
            nvidia_api_key=images.key,
            nvidia_base_url=images.base_url,
            nvcf_status_url=images.status_url,
            llm="off",
            image_rpm=0,
        )
        library = Library(settings)
        story = start_live_story(
            library, settings, StoryOptions(title="Bench"), engine, load_backend(settings), "en",
            LiveOptions() if beam is None else LiveOptions(beam_size=beam),
        )  # fmt: skip
        story.connected()
        step = int(CHUNK_S * 16000)
        started = time.monotonic()
        for n, first in enumerate(range(0, len(samples), step)):
            time.sleep(max(0.0, started + n * CHUNK_S - time.monotonic()))
            story.hear_at(first, to_pcm(samples[first : first + step]))
        story.stop()
        story.finished.wait(600)
        received = [(event["at"], event) for event in story.events.since(0)]
        requests = [
            (r.time, json.dumps(r.body, ensure_ascii=False)) for r in images.generation_requests()
        ]
        return _measure(library, story.story_id, received, started, requests)


def report(r: dict) -> str:
    gpu = os.environ.get("GPU_NAME", "the lent GPU")
    rows = [
        f"## Told live on {gpu}: {r['clip']} ({r['seconds']:.0f} s) played in real time\n",
        f"Engine: {r['engine']}; writer off; picture stand-in {PICTURE_LATENCY:g} s.\n",
        "| live sentences | sentences | text after last word: median / p90 s | picture request "
        "after text: median / p90 s | WER live |",
        "|---|---|---|---|---|",
    ]
    rows += [f"| {name} | {case_cells(r[name])} |" for name in CASES]
    rows += [
        "",
        f"Whole recording transcribed afterwards: WER {r['wer_whole']:.3f}; live minus whole: "
        f"{r[next(iter(CASES))]['wer_live'] - r['wer_whole']:+.3f} greedy (the default).",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results"))
