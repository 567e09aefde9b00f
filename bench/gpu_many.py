"""One GPU for a school: N narrations queued together, transcribed in shared batches (issue 26).

python -m bench.gpu_many OUT_DIR [--narrations 1,8,30,100] [--batch 32] [--max-windows 128]
                                 [--device cuda] [--beam 5] [--clips story_60s.ogg,...]
python -m bench.gpu_many OUT_DIR --plot   table and plot again from OUT_DIR/gpu_many.json

On the lent GPU machine it runs through bench/gpu_run.sh (S2I_BENCH=gpu_many; the model and the
data folder come from there). Each N: N narrations of about 60 s are handed at once to the
gatherer the speech worker uses (speech/gathering.py, S2I_SPEECH_BATCH = --batch), which runs
them in batches of up to --batch on the batched torch engine (speech/many.py). Reported per N:
narrations per second (N / wall time from the first ask to the last answer), the longest and the
median wait of a narration, the model's time (GPU, synchronised: encoder, decoder, word times)
and the VAD's (CPU), summed over the batches, and whether each narration's text is the one it
gets transcribed alone. Target: 30 narrations in at most 3 s of GPU time.

On a CPU (--device cpu, small N, short clips, --beam 1) it shows the bench works; its seconds are
a CPU's, not the GPU figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP_DIRS = (ROOT / "bench" / "clips", ROOT / "tests" / "fixtures")
# two ~60 s English narrations, taken in turn: the bench's story and one made of the test clips
DEFAULT_CLIPS = "story_60s.ogg,en_long.wav+en_story.wav+story_20s.ogg"
TARGET_N, TARGET_S = 30, 3.0


def options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_many")
    parser.add_argument("out", type=Path)
    parser.add_argument("--narrations", default="1,8,30,100", help="Ns, comma-separated")
    parser.add_argument(
        "--batch", type=int, default=32, help="S2I_SPEECH_BATCH: narrations a batch"
    )
    parser.add_argument(
        "--max-windows", default="16,128", help="windows a decoder round, each measured in turn"
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--clips", default=DEFAULT_CLIPS, help="narrations in turn; a+b: joined")
    parser.add_argument("--plot", action="store_true", help="only redraw from gpu_many.json")
    return parser.parse_args(argv)


def narrations(spec: str, settings) -> dict[str, object]:
    """{name: samples} of each narration kind; ``a+b`` joins clips with a 1 s pause."""
    import numpy as np

    from s2i_core.audio import SAMPLE_RATE, decode_audio

    def clip(name: str):
        path = next(d / name for d in CLIP_DIRS if (d / name).exists())
        return decode_audio(path, settings).samples

    pause = np.zeros(SAMPLE_RATE, dtype=np.float32)
    kinds = {}
    for name in spec.split(","):
        parts = [clip(part) for part in name.split("+")]
        kinds[name] = np.concatenate([p for part in parts for p in (part, pause)][:-1])
    return kinds


def engine_for(args: argparse.Namespace, settings):
    from s2i_core.speech import DecodingOptions
    from s2i_core.speech.torch_batched_engine import BatchedTorchEngine, BatchOptions

    return BatchedTorchEngine(
        settings.whisper_model,
        cache_dir=settings.cache_dir,
        device=args.device,
        options=DecodingOptions(beam_size=args.beam),
        batch=BatchOptions(max_windows=int(args.max_windows.split(",")[0])),
    )


def text(segments) -> str:
    return "".join(s.text for s in segments).strip()


def run_queue(engine, gatherer, kinds: dict, n: int, alone: dict[str, str]) -> dict:
    """N narrations asked at once; every answer waited for."""
    names = [list(kinds)[i % len(kinds)] for i in range(n)]
    first_batch = len(gatherer.batches)
    started = time.perf_counter()
    tickets = [gatherer.submit(_narration(kinds[name])) for name in names]
    for ticket in tickets:
        ticket.done.wait()
    wall = time.perf_counter() - started
    batches = gatherer.batches[first_batch:]
    stats = gatherer.stats[first_batch:]
    waits = [t.answered - t.asked for t in tickets]
    heard = [text(t.heard.unwrap()[0]) for t in tickets]
    same = sum(h == alone[name] for h, name in zip(heard, names, strict=True))
    audio = sum(len(kinds[name]) for name in names) / 16000
    return {
        "narrations": n,
        "audio_s": audio,
        "wall_s": wall,
        "per_second": n / wall,
        "longest_wait_s": max(waits),
        "median_wait_s": statistics.median(waits),
        "model_s": sum(s["model_s"] for s in stats),
        "vad_s": sum(s["vad_s"] for s in stats),
        "windows": sum(s["windows"] for s in stats),
        "batches": batches,
        "same_text_as_alone": same,
    }


def _narration(samples):
    from s2i_core.speech.batch import Narration

    return Narration(samples)


def measure(args: argparse.Namespace) -> dict:
    import torch

    from s2i_core.settings import Settings
    from s2i_core.speech.gathering import GatheringEngine

    settings = Settings.load()
    kinds = narrations(args.clips, settings)
    started = time.perf_counter()
    engine = engine_for(args, settings)
    load_s = time.perf_counter() - started
    alone, alone_s = {}, {}
    runs = 2  # the second is timed: the first pays one-time costs (JIT, kernels, graphs)
    for name, samples in kinds.items():  # each kind alone
        for _ in range(runs):
            clock = time.perf_counter()
            alone[name] = text(engine.transcribe(samples)[0])
            alone_s[name] = time.perf_counter() - clock
    gatherer = GatheringEngine(engine, args.batch)
    rows = []
    for windows in map(int, args.max_windows.split(",")):
        engine.batch = dataclasses.replace(engine.batch, max_windows=windows)
        engine.warm_up()  # a captured graph for every round size up to ``windows``
        if engine.device == "cuda":  # the first batch of each size pays cuDNN's choices
            run_queue(engine, gatherer, kinds, min(args.batch, 4), alone)
        for n in args.narrations.split(","):
            rows.append(
                {"max_windows": windows, **run_queue(engine, gatherer, kinds, int(n), alone)}
            )
    gpu = torch.cuda.get_device_name(0) if engine.device == "cuda" else f"CPU ({os.cpu_count()})"
    return {
        "device": gpu,
        "torch": torch.__version__,
        "beam": args.beam,
        "batch": args.batch,
        "max_windows": args.max_windows,  # each row says its own
        "clips": {name: len(s) / 16000 for name, s in kinds.items()},
        "load_s": load_s,
        "alone_s": alone_s,
        "load_average": os.getloadavg(),
        "rows": rows,
    }


def table(result: dict) -> str:
    clips = ", ".join(f"{name} ({s:.1f} s)" for name, s in result["clips"].items())
    alone = ", ".join(f"{s:.3f} s" for s in result["alone_s"].values())
    lines = [
        f"{result['device']}, torch {result['torch']}, beam {result['beam']}; batches of up to "
        f"{result['batch']} narrations (S2I_SPEECH_BATCH); load average "
        f"{', '.join(f'{x:.1f}' for x in result['load_average'])}",
        f"Narrations, in turn: {clips}; each alone: {alone}.",
        "",
        "| windows a round | narrations | audio s | wall s | narrations/s | longest wait s "
        "| median wait s | model s (GPU) | VAD s (CPU) | windows | batches | same text as alone |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['max_windows']} | {r['narrations']} | {r['audio_s']:.0f} | {r['wall_s']:.2f} | "
            f"{r['per_second']:.2f} | {r['longest_wait_s']:.2f} | {r['median_wait_s']:.2f} | "
            f"{r['model_s']:.2f} | {r['vad_s']:.2f} | {r['windows']} | "
            f"{'+'.join(map(str, r['batches']))} | {r['same_text_as_alone']}/{r['narrations']} |"
        )
    for r in (r for r in result["rows"] if r["narrations"] == TARGET_N):
        met = "met" if r["model_s"] <= TARGET_S else "NOT met"
        lines.append(
            f"\nTarget {TARGET_N} narrations in <= {TARGET_S} s of GPU time, "
            f"{r['max_windows']} windows a round: {met} ({r['model_s']:.2f} s)."
        )
    lines += [
        "",
        "Wall and waits include the gatherer's linger (0.25 s after the last arrival) and the "
        "VAD; model s is the encoder, decoder and word times, synchronised, summed over batches.",
    ]
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print("no matplotlib here: run `--plot` on the development machine", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for windows in dict.fromkeys(r["max_windows"] for r in result["rows"]):
        rows = [r for r in result["rows"] if r["max_windows"] == windows]
        n = [r["narrations"] for r in rows]
        left.plot(n, [r["per_second"] for r in rows], "o-", label=f"{windows} windows a round")
        right.plot(n, [r["longest_wait_s"] for r in rows], "o-", label=f"longest wait, {windows}")
        right.plot(n, [r["model_s"] for r in rows], "s--", label=f"model time, {windows}")
    left.set(xscale="log", xlabel="narrations queued together", ylabel="narrations per second")
    left.legend()
    right.axhline(
        TARGET_S, color="grey", linestyle=":", label=f"target: {TARGET_N} in {TARGET_S} s"
    )
    right.set(xscale="log", xlabel="narrations queued together", ylabel="seconds")
    right.legend()
    seconds = "/".join(f"{s:.0f}" for s in result["clips"].values())
    fig.suptitle(f"{result['device']}: {seconds} s narrations, batches of up to {result['batch']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


RESULTS = ROOT / "bench" / "results"
REPRODUCE = (
    "Reproduce: `bench/gpu_pack.sh` here, then on the lent machine one call per part "
    "(`bash bench/gpu_run.sh --stash`), the last one carrying the last part, `wheels/` and "
    "`code/`: `bash bench/gpu_run.sh --stash && S2I_BENCH=gpu_many bash bench/gpu_run.sh "
    "--narrations 1,8,30,100`, which writes `gpu_many.json`, `.md` and `.png` to "
    "`bench/results/`; on a CPU: `python -m bench.gpu_many bench/results/gpu_many_cpu --device cpu "
    "--narrations 1,2 --batch 2 --beam 1 --clips es_story.wav,de_story.wav --max-windows 4`."
)


def report_section() -> str:
    """The section of docs/performance.md (bench/report.py): the GPU run, or plainly none."""
    lines = ["## A school's narrations on one GPU (`S2I_SPEECH_BATCH`)\n", REPRODUCE, ""]
    gpu, cpu = RESULTS / "gpu_many.json", RESULTS / "gpu_many_cpu" / "gpu_many.json"
    if gpu.exists():
        plot_link = "![GPU batches](../bench/results/gpu_many.png)"
        lines += [table(json.loads(gpu.read_text())), "", plot_link]
    else:
        lines.append(
            "**Not measured on a GPU yet** (the GPU machine was not run for it): the target, 30 "
            "narrations of ~60 s in at most 3 s of GPU time, is open."
        )
    if cpu.exists():
        lines += [
            "",
            "The same bench on this machine's CPU, small N, to show it runs: CPU seconds on a "
            "shared 2-core machine at the load average shown, not the GPU figures, and not a "
            "measure of batching (the runs alone and the batches met different moments of "
            "other people's load; the batches run in the gatherer's thread):",
            "",
            table(json.loads(cpu.read_text())),
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    args = options(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "gpu_many.json"
    if args.plot:
        result = json.loads(data.read_text())
    else:
        result = measure(args)
        data.write_text(json.dumps(result, indent=1))
    (args.out / "gpu_many.md").write_text(table(result) + "\n")
    plot(result, args.out / "gpu_many.png")
    print(table(result))


if __name__ == "__main__":
    main(sys.argv[1:])
