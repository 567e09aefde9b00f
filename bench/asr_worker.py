"""One speech engine in a process of its own, transcribing clips on request.

The benchmark keeps one such process per configuration and asks them in turns, so every
configuration is timed side by side in one run, under the same load, while each keeps its own
threads, memory peak and load time.

    python -m bench.asr_worker CONFIG_JSON   then one request (JSON) per line on stdin
        -> one JSON line for the load, then one per request, on stdout

CONFIG: {"data_dir": ..., "engine": "faster-whisper" | "openai-whisper", "options": {...}
(DecodingOptions fields), "layout": "2x1", "compute_type": "int8"}; with {"settings": true} the
engine is loaded as the app loads it (``load_engine``: the layout measured at first start).
Request: {"clip": path, "language": null}; with "profile": true the answer also says where the
time went (seconds per stage, summed over the windows, whichever thread ran them).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

from s2i_core.audio import decode_audio
from s2i_core.settings import Settings
from s2i_core.speech import DecodingOptions, load_engine
from s2i_core.speech.weights import resolve_model


def load(config: dict):
    settings = Settings(data_dir=Path(config["data_dir"]), asr_device="cpu")
    if config.get("settings"):
        return load_engine(settings.with_changes(asr_threads="auto"))
    options = DecodingOptions(**config.get("options", {}))
    if config["engine"] == "openai-whisper":
        from s2i_core.speech.openai_whisper_engine import OpenAIWhisperEngine

        return OpenAIWhisperEngine(
            "base", cache_dir=settings.cache_dir, device="cpu", options=options
        )
    from s2i_core.speech.calibration import Layout
    from s2i_core.speech.faster_whisper_engine import FasterWhisperEngine

    path = resolve_model("base", settings.cache_dir)
    layout = Layout.parse(config["layout"])
    return FasterWhisperEngine(
        "base", path, "cpu", options, layout, compute_type=config.get("compute_type")
    )


class StageTimer:
    """Stands in for the CTranslate2 model (and the VAD) and adds up the time of each call."""

    def __init__(self, model):
        self._model = model
        self.seconds: dict[str, float] = {}

    def timed(self, stage: str, fn):
        def call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed

        return call

    def __getattr__(self, name: str):
        stages = {"encode": "encode", "generate": "decode", "align": "word times",
                  "detect_language": "language"}  # fmt: skip
        attribute = getattr(self._model, name)
        return self.timed(stages[name], attribute) if name in stages else attribute


def profiled(engine, request: dict, audio) -> dict:
    """Where one transcription's time went, stage by stage."""
    from s2i_core.speech import faster_whisper_engine

    timer = StageTimer(engine._whisper.model)
    plan = faster_whisper_engine.plan_windows
    engine._whisper.model = timer
    faster_whisper_engine.plan_windows = timer.timed("pauses (VAD)", plan)
    try:
        started = time.perf_counter()
        segments, _ = engine.transcribe(audio.samples, request.get("language"))
        list(segments)
        wall = time.perf_counter() - started
    finally:
        engine._whisper.model = timer._model
        faster_whisper_engine.plan_windows = plan
    return {"wall": wall, "stages": timer.seconds}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(config: dict) -> None:
    started = time.perf_counter()
    engine = load(config)
    say({"load_s": time.perf_counter() - started, "layout": str(getattr(engine, "layout", "")),
         "compute_type": engine.compute_type, "peak_rss_mb": peak_rss_mb()})  # fmt: skip
    settings = Settings(data_dir=Path(config["data_dir"]))
    audios = {}
    for line in sys.stdin:
        request = json.loads(line)
        clip = request["clip"]
        if clip not in audios:
            audios[clip] = decode_audio(Path(clip), settings)
        audio = audios[clip]
        if request.get("profile"):
            say(profiled(engine, request, audio))
            continue
        started, cpu = time.perf_counter(), time.process_time()
        segments, info = engine.transcribe(audio.samples, request.get("language"))
        text = "".join(s.text for s in segments).strip()
        say({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
             "duration": audio.duration, "text": text, "language": info.language,
             "probability": info.language_probability, "load": os.getloadavg()[0],
             "peak_rss_mb": peak_rss_mb()})  # fmt: skip


def say(answer: dict) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
