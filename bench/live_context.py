"""`python -m bench.live_context [SECONDS ...]`: live word accuracy against how much of the story
just kept each new sentence is heard after (LiveOptions.context_s), without the real-time player.

Each benchmark clip is cut by the live segmenter (PauseSegmenter, fed 100 ms at a time) and every
cut heard at once by a LiveListener, as on a machine fast enough never to fall behind: the cuts
are the same for every setting, so the WER is deterministic (bench/live.py plays the story in
real time, where a loaded machine hears several cuts in one pass). Prints, per clip, the WER of
the whole recording transcribed afterwards and of the live sentences for each context (default
0 4 8 12 20 s), and the CPU seconds per sentence (median, process time). Writes
bench/results/live_context.json. The default engine and beam; BEAM=1 in the environment: greedy.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.live import SCRIPT, SIX
from s2i_core.audio import decode_audio
from s2i_core.live.listener import LiveListener
from s2i_core.live.segmenter import PauseSegmenter
from s2i_core.settings import Settings
from s2i_core.speech import load_engine
from tests.wer import word_error_rate

ROOT = Path(__file__).resolve().parents[1]
CLIPS = {  # bench/clips/make_clips.sh
    "story_60s.ogg": SCRIPT,
    "story_20s.ogg": (
        "Once upon a time, a little fox lived in a green forest. Every morning, she ran to the "
        "river to drink water. One day, she found a shiny blue stone. She carried it home and "
        "showed it to her mother. Her mother said it was a magic stone."
    ),
    "six_sentences.ogg": SIX,
}
CHUNK = 1600  # 100 ms, as the browser sends it


def told(engine, samples, context_s: float, beam: int | None) -> tuple[str, list[float]]:
    """The live sentences' text, and the CPU seconds of each transcription."""
    audio = lambda a, b: samples[int(a * 16000) : int(b * 16000)]  # noqa: E731
    listener = LiveListener(engine, audio, "en", beam_size=beam, context_s=context_s)
    segmenter, texts, cpu = PauseSegmenter(), [], []
    cuts = [
        c for i in range(0, len(samples), CHUNK) for c in segmenter.feed(samples[i : i + CHUNK])
    ]
    for cut in cuts + segmenter.finish():
        started, wall = time.process_time(), time.monotonic()
        heard = listener.hear(cut)
        if time.monotonic() - wall > 0.01:  # a transcription, not a pause kept as it was
            cpu.append(time.process_time() - started)
        texts += [s.text for s in heard.sentences] if heard else []
    return " ".join(texts), cpu


def main(argv: list[str]) -> int:
    contexts = [float(a) for a in argv] or [0.0, 4.0, 8.0, 12.0, 20.0]
    beam = int(os.environ["BEAM"]) if os.environ.get("BEAM") else None
    results: dict = {"load_before": os.getloadavg(), "beam": beam, "clips": {}}
    with tempfile.TemporaryDirectory(prefix="s2i-bench-") as scratch:
        engine = load_engine(Settings(data_dir=Path(scratch)))
        for clip, script in CLIPS.items():
            results["clips"][clip] = measure(engine, clip, script, contexts, beam)
    results["load_after"] = os.getloadavg()
    before, after = results["load_before"][0], results["load_after"][0]
    print(f"load average {before:.1f} before, {after:.1f} after")
    (ROOT / "bench" / "results" / "live_context.json").write_text(json.dumps(results, indent=2))
    return 0


def measure(engine, clip: str, script: str, contexts: list[float], beam: int | None) -> dict:
    samples = decode_audio(ROOT / "bench" / "clips" / clip, Settings()).samples
    segments, _ = engine.transcribe(samples, language="en")
    whole = word_error_rate(script, " ".join(s.text.strip() for s in segments))
    row: dict = {"whole": round(whole, 4), "live": {}}
    print(f"{clip}: whole pass WER {whole:.3f}", flush=True)
    for context in contexts:
        text, cpu = told(engine, samples, context, beam)
        wer, per_cut = word_error_rate(script, text), statistics.median(cpu)
        row["live"][str(context)] = {"wer": round(wer, 4), "cpu_s": round(per_cut, 3)}
        print(f"   context {context:4.1f} s: live WER {wer:.3f}, CPU {per_cut:.2f} s a sentence")
        print(f"      {text}", flush=True)
    return row


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
