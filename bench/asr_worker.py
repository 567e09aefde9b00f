"""One engine in a process of its own, so load time and peak memory are its alone.

python -m bench.asr_worker ENGINE MODEL CACHE_DIR BEAM_SIZE REPEATS CLIP [CLIP ...]
    ->  one JSON object on stdout
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path

from s2i_core.audio import decode_audio
from s2i_core.settings import Settings
from s2i_core.speech import load_engine


def main(engine: str, model: str, data_dir: str, beam_size: str, repeats: str, *clips: str) -> dict:
    settings = Settings(data_dir=Path(data_dir), asr_engine=engine, whisper_model=model)
    settings = settings.with_changes(asr_beam_size=int(beam_size))
    started = time.perf_counter()
    speech = load_engine(settings)
    load_s = time.perf_counter() - started
    runs = []
    for clip in clips:
        audio = decode_audio(Path(clip), settings)
        times = []
        for _ in range(int(repeats)):
            started = time.perf_counter()
            segments, _info = speech.transcribe(audio.samples)
            text = "".join(s.text for s in segments).strip()
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        runs.append(
            {
                "clip": Path(clip).name,
                "duration": audio.duration,
                "seconds": seconds,
                "times": times,
                "rtf": seconds / audio.duration,
                "text": text,
            }
        )
    return {
        "engine": speech.name,
        "model": model,
        "device": speech.device,
        "compute_type": speech.compute_type,
        "beam_size": settings.asr_beam_size,
        "load_s": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "runs": runs,
    }


if __name__ == "__main__":
    json.dump(main(*sys.argv[1:]), sys.stdout)
