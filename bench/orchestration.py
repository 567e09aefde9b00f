"""Issue 19, before and after: one streamed storyboard through the orchestrator the CLI had
(``pipeline.stream_story``, commit 2191f96) and through the one it has now (the workers' job
handlers on an in-process queue, ``jobs.inline.story_here``), side by side in one run.

    python -m bench.orchestration [--before 2191f96] [--repeats 3]

The older engine is taken from git (``git archive``) into a scratch folder. Each run is a fresh
process with one engine or the other first on its path (bench/orchestration_run.py), runs
alternate between the two, and each talks to its own NVIDIA stand-in started here, answering
after LATENCY seconds, so both meet the same server. Medians of the seconds from "go" to the first
sentence ready for its picture, the first picture and the last one. Writes
bench/results/orchestration.json and .md, with the load average before and after: on a shared
machine the load explains the wall times, and only the ratio of the two columns means much.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from tests.nvidia_stub import NvidiaStub

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CLIP = ROOT / "bench" / "clips" / "six_sentences.ogg"
LATENCY = 2.0  # the stand-in's answer time, as in the storyboard section
BEFORE = "2191f96"  # main when issue 19 was filed
TIMES = ("first_sentence", "first_picture", "total")


def engine_at(commit: str, into: Path) -> Path:
    """The ``s2i_core`` of ``commit``, unpacked under ``into``; returns the folder to put on the
    path."""
    archive = into / "engine.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit, "s2i_core"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / commit, filter="data")
    return into / commit


def timed_run(engine_root: Path, data_dir: Path) -> dict:
    """One storyboard in a fresh process whose ``s2i_core`` comes from ``engine_root``."""
    with NvidiaStub(latency=LATENCY) as stub:
        asked = {
            "clip": str(CLIP),
            "settings": {
                "data_dir": str(data_dir),
                "image_rpm": 40,
                "image_concurrency": 4,
                "nvidia_api_key": stub.key,
                "nvidia_base_url": stub.base_url,
                "nvcf_status_url": stub.status_url,
                "llm": "off",  # pictures only, as in the storyboard section
            },
        }
        env = os.environ | {"PYTHONPATH": str(engine_root)}
        answer = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "orchestration_run.py")],
            input=json.dumps(asked),
            capture_output=True,
            text=True,
            env=env,
            cwd=data_dir.parent,  # never this checkout: its s2i_core would come first
            check=False,
        )
    if answer.returncode != 0:
        raise RuntimeError(f"the run with {engine_root} failed:\n{answer.stderr[-3000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])


def measure(before: str, repeats: int) -> dict:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="s2i-orchestration-") as scratch:
        scratch_dir = Path(scratch)
        engines = {"before": engine_at(before, scratch_dir), "after": ROOT}
        runs: dict[str, list[dict]] = {name: [] for name in engines}
        for attempt in range(repeats):
            for name, root in engines.items():  # alternating, so load drifts hit both
                data_dir = scratch_dir / "runs" / f"{name}-{attempt}" / "data"
                data_dir.mkdir(parents=True)
                runs[name].append(timed_run(root, data_dir))
    summary = {
        name: {
            "path": found[0]["path"],
            "frames": max(r["frames"] for r in found),
            **{key: statistics.median(r[key] for r in found) for key in TIMES},
            "runs": found,
        }
        for name, found in runs.items()
    }
    return {
        "before_commit": before,
        "latency": LATENCY,
        "clip": CLIP.name,
        "repeats": repeats,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python -m bench.orchestration",
        **summary,
    }


def table(results: dict) -> str:
    before, after = results["before"], results["after"]
    rows = [
        f"# Orchestration before and after issue 19 ({results['clip']}, pictures answered after "
        f"{results['latency']:g} s, median of {results['repeats']})",
        "",
        f"`{results['command']}` on {results['date']}; load average "
        f"{results['load_before']} before, {results['load_after']} after.",
        "",
        f"| seconds from go to | before: `{before['path']}` ({results['before_commit']}) | "
        f"after: `{after['path']}` | after / before |",
        "|---|---:|---:|---:|",
    ]
    names = {"first_sentence": "first sentence ready", "first_picture": "first picture",
             "total": "last picture"}  # fmt: skip
    for key in TIMES:
        ratio = after[key] / before[key] if before[key] else float("nan")
        rows.append(f"| {names[key]} | {before[key]:.2f} | {after[key]:.2f} | {ratio:.2f} |")
    rows.append(f"| pictures | {before['frames']} | {after['frames']} | |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE, help="the older commit (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = measure(args.before, args.repeats)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "orchestration.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "orchestration.md").write_text(table(results))
    print(table(results))


if __name__ == "__main__":
    main()
