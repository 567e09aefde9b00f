"""The GPU path, proved on a lent CUDA machine: `S2I_ASR_ENGINE=auto` on the test clips.

python -m bench.gpu OUT.json   (S2I_WHISPER_MODEL and S2I_DATA_DIR set by the caller)

Loads the engine twice in fresh processes (cold: the CTranslate2 weights are converted first;
cached: the converted checkpoint is reused), then transcribes every clip after a warm-up, timing
each with the GPU synchronised.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIPS = [
    *sorted((ROOT / "tests" / "fixtures").glob("*.wav")),
    ROOT / "bench" / "clips" / "story_20s.ogg",
    ROOT / "bench" / "clips" / "story_60s.ogg",
]


def measure() -> dict:
    import torch

    from s2i_core.audio import decode_audio
    from s2i_core.settings import Settings
    from s2i_core.speech import load_engine, probe_devices

    settings = Settings.load()
    started = time.perf_counter()
    engine = load_engine(settings)
    load_s = time.perf_counter() - started
    audios = [(clip.name, decode_audio(clip, settings)) for clip in CLIPS]
    engine.transcribe(audios[0][1].samples)  # warm-up: CUDA kernels, caches
    sync = torch.cuda.synchronize if torch.cuda.is_available() else lambda: None
    runs = []
    for name, audio in audios:
        sync()
        started = time.perf_counter()
        segments, info = engine.transcribe(audio.samples)
        text = "".join(s.text for s in segments).strip()
        sync()
        seconds = time.perf_counter() - started
        runs.append(
            {
                "clip": name,
                "duration": audio.duration,
                "seconds": seconds,
                "rtf": seconds / audio.duration,
                "language": info.language,
                "text": text,
            }
        )
    return {
        "probe": vars(probe_devices()),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "torch": torch.__version__,
        "engine": engine.name,
        "device": engine.device,
        "compute_type": engine.compute_type,
        "load_s": load_s,
        "runs": runs,
    }


def main(out: str) -> None:
    phases = {}
    for phase in ("cold", "cached"):
        result = subprocess.run(
            [sys.executable, "-c", "import json, bench.gpu as g; print(json.dumps(g.measure()))"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            sys.exit(result.stderr)
        phases[phase] = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            phase,
            phases[phase]["engine"],
            phases[phase]["device"],
            f"load {phases[phase]['load_s']:.2f} s",
            file=sys.stderr,
        )
    result = phases["cached"] | {"cold_load_s": phases["cold"]["load_s"]}
    Path(out).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    for run in result["runs"]:
        print(
            f"{run['clip']:>18} {run['duration']:6.1f} s audio {run['seconds']:7.3f} s "
            f"RTF {run['rtf']:.4f} [{run['language']}] {run['text'][:60]}"
        )


if __name__ == "__main__":
    main(sys.argv[1])
