"""`make bench`: every comparison measured side by side in one run, on this machine.

Writes bench/results/results.md, results.json and PNG plots, and rewrites docs/performance.md.
Sections can be picked: python -m bench asr storyboard library export students
`python -m bench --report` writes the page again from results.json, measuring nothing.
Each section keeps how it was run (the command, the load average before and after, the date), and
the page prints that beside its figures: on a shared machine the load explains the wall times.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.sections import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions = subprocess.run(
        [sys.executable, "-c", "import torch, ctranslate2, faster_whisper as f; "
         "print(torch.__version__, ctranslate2.__version__, f.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "torch": versions[0],
        "ctranslate2": versions[1],
        "faster_whisper": versions[2],
        "date": time.strftime("%Y-%m-%d"),
    }


def _measured(name: str, load_before: tuple[float, float, float]) -> dict:
    """How a section was measured: what reproduces it and how busy the machine was."""
    return {
        "command": f".venv/bin/python -m bench {name}",
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def main(argv: list[str]) -> int:
    previous = RESULTS / "results.json"
    if argv == ["--report"]:  # the page again from the kept numbers (after a merge, say)
        report.write(json.loads(previous.read_text()), RESULTS, ROOT / "docs" / "performance.md")
        return 0
    wanted = argv or list(SECTIONS)
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        print(f"no section {', '.join(unknown)}: pick from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = json.loads(previous.read_text()) if previous.exists() and argv else {}
    results["machine"] = machine()
    with tempfile.TemporaryDirectory(prefix="s2i-bench-") as scratch:
        for name in wanted:
            print(f"== {name}", file=sys.stderr, flush=True)
            before = os.getloadavg()
            results[name] = SECTIONS[name](Path(scratch)) | {"measured": _measured(name, before)}
    previous.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    report.write(results, RESULTS, ROOT / "docs" / "performance.md")
    print((RESULTS / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
