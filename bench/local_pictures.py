"""Local picture backend on a GPU: frames per second at 512x512, one at a time vs batched.

python -m bench.local_pictures OUT_DIR [--frames 16] [--steps 20] [--batches 1,2,4,8,16]

Builds the tiny Stable Diffusion pipeline of tests/tiny_diffusion.py at 512 px, saves it, and
loads it through the app's own code (``LocalBackend``: fp16 on CUDA, float32 on a CPU). Each
batch size draws the same ``--frames`` pictures (distinct prompts and seeds) after one warm-up
batch; the GPU is synchronised before each clock reading. Writes local_pictures.json and .md.

The tiny model's UNet is far smaller than SD 1.5's (about 1.7 M against 860 M parameters), so the
absolute numbers say how well the code path batches and how little it adds around the model, not
how fast a real model draws; see README, "A local picture model".
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from s2i_core.pictures import ImageParams  # noqa: E402
from s2i_core.pictures.local import LocalBackend  # noqa: E402
from s2i_core.settings import Settings  # noqa: E402
from tests.tiny_diffusion import build_tiny_pipeline  # noqa: E402

SIDE = 512


def synchronise() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def run(out: Path, frames: int, steps: int, batches: list[int]) -> dict:
    import torch

    folder = build_tiny_pipeline(Path(tempfile.mkdtemp()) / "tiny-sd-512", side=SIDE)
    backend = LocalBackend(Settings(local_image_model=str(folder), image_concurrency=max(batches)))
    model = backend.model
    unet_params = sum(p.numel() for p in backend.pipeline.unet.parameters())
    jobs = [
        (f"Frame {n}: the fox and the balloon.", ImageParams(model.id, steps=steps, seed=n + 1))
        for n in range(frames)
    ]
    rows = []
    for size in batches:
        backend.generate_batch(jobs[:size])  # warm-up: kernels chosen, memory allocated
        synchronise()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        pictures = []
        for first in range(0, frames, size):
            pictures += backend.generate_batch(jobs[first : first + size])
        synchronise()
        seconds = time.perf_counter() - started
        assert len(pictures) == frames and {(p.width, p.height) for p in pictures} == {(SIDE, SIDE)}
        peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0
        rows.append(
            {
                "batch": size,
                "frames": frames,
                "seconds": round(seconds, 4),
                "frames_per_s": round(frames / seconds, 2),
                "peak_gpu_mib": round(peak, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    one = rows[0]["frames_per_s"]
    for row in rows:
        row["speedup_vs_one"] = round(row["frames_per_s"] / one, 2)
    result = {
        "device": backend.label,
        "dtype": str(backend.pipeline.unet.dtype),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "side": SIDE,
        "steps": steps,
        "unet_parameters": unet_params,
        "rows": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "local_pictures.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "local_pictures.md").write_text(table(result))
    backend.close()
    return result


def table(result: dict) -> str:
    lines = [
        f"Local picture backend, tiny SD pipeline ({result['unet_parameters']:,} UNet parameters), "
        f"{result['side']}x{result['side']}, {result['steps']} steps, {result['dtype']}, "
        f"{result['device']}, torch {result['torch']}",
        "",
        "| batch | frames | seconds | frames/s | vs one at a time | peak GPU MiB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['batch']} | {row['frames']} | {row['seconds']:.3f} | "
            f"{row['frames_per_s']:.1f} | {row['speedup_vs_one']:.2f}x | "
            f"{row['peak_gpu_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([str(r["batch"]) for r in rows], [r["frames_per_s"] for r in rows], color="#4c72b0")
    for n, row in enumerate(rows):
        ax.text(n, row["frames_per_s"], f"{row['speedup_vs_one']:.1f}x", ha="center", va="bottom")
    ax.set_xlabel("frames per pipeline call (batch)")
    ax.set_ylabel("frames per second")
    ax.set_title(f"Local pictures at {result['side']} px on {result['device'].split(' on ')[-1]}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batches", default="1,2,4,8,16")
    parser.add_argument("--plot", type=Path, help="only draw the plot of an earlier JSON result")
    args = parser.parse_args(argv)
    if args.plot:
        plot(json.loads(args.plot.read_text()), args.out)
        return
    run(args.out, args.frames, args.steps, [int(b) for b in args.batches.split(",")])


if __name__ == "__main__":
    main()
