"""A class at once: N students open the same 12-picture story and start its replay, together.

Each student is a WebSocket session of Streamlit's own protocol (bench/student_client.py); all N
start at the same moment against a fresh app process, after one teacher's visit has warmed it.
Measured per N: the seconds until the replay's first picture and sentence are on screen with the
narration loaded (p50, p95), until every picture of the page has loaded, errors, the server's
CPU seconds per visit, and the app's memory (RSS) before, at its peak and with the N sessions
idle. Both the code before issue 26 (``BASELINE``, from git) and this checkout run back to back
on the same story, so the before/after ratio comes from one run.

    .venv/bin/python -m bench students                 # both, N = 10, 30, 60, 120
    .venv/bin/python -m bench.students --n 30 --only after
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from bench.student_client import Student, Visit

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "2191f96"  # main when issue 26 measured 4.9 s at p95 for 30 students
CROWDS = (10, 30, 60, 120)
FRAMES = 12
PASSCODE = "bench-teacher-passcode"  # set, so the visitors are students (the class's view)
NARRATION = ROOT / "bench" / "clips" / "story_60s.ogg"

# Made by each tree's own code (the baseline's or this checkout's), so each app finds a
# database its migrations made. Only Library calls both have.
FIXTURE = """
import io, random, sys
from pathlib import Path
from PIL import Image
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library

data_dir, narration, frames = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
WORDS = "the fox and a small bird walked to the river where an old boat waited".split()

def picture(seed, side):
    rng = random.Random(seed)
    small = Image.new("RGB", (64, 64))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(64 * 64)])
    out = io.BytesIO()
    small.resize((side, side), Image.Resampling.BICUBIC).save(out, "PNG")
    return out.getvalue()

library = Library(Settings(data_dir=data_dir))
story = library.create_story("The fox and the boat", class_name="4B", language="en",
                             duration=59.4, narration=narration.read_bytes(), narration_ext="ogg")
step, rng, drafts = 59.4 / frames, random.Random(3), []
for i in range(frames):
    words = rng.choices(WORDS, k=10)
    times = tuple((i * step + k * step / 10, i * step + (k + 1) * step / 10, " " + w)
                  for k, w in enumerate(words))
    text = " ".join(words).capitalize() + "."
    drafts.append(FrameDraft(i, i * step, (i + 1) * step, text, text, text,
                             words=tuple((a, b, w.capitalize() if k == 0 else w)
                                         for k, (a, b, w) in enumerate(times))))
for frame in library.set_frames(story.id, drafts):
    library.save_frame_result(frame.id, "done", image=picture(frame.index, 1024),
                              thumbnail=picture(frame.index, 320))
library.refresh_story_status(story.id)
print(story.id)
"""


def students(scratch: Path, crowds: tuple[int, ...] = CROWDS, only: str = "") -> dict:
    """The section `python -m bench students`: before and after, each N on a fresh app."""
    results: dict = {"frames": FRAMES, "baseline": BASELINE, "variants": {}}
    for name, tree in _trees(scratch, only):
        data_dir = scratch / f"students-{name}"
        story_id = _make_story(tree, data_dir)
        entry = "s2i_ui/server.py" if (tree / "s2i_ui" / "server.py").exists() else "Home.py"
        runs = {}
        for n in crowds:
            runs[str(n)] = _crowd_run(tree, entry, data_dir, story_id, n)
            _say(name, n, runs[str(n)])
        results["variants"][name] = {"tree": str(tree), "entry": entry, "runs": runs}
    return results


def _trees(scratch: Path, only: str) -> list[tuple[str, Path]]:
    trees = []
    if only in ("", "before"):
        try:
            trees.append(("before", _baseline_tree(scratch / "baseline")))
        except (OSError, subprocess.CalledProcessError) as error:  # no git, or a shallow clone
            print(
                f"   before: {BASELINE} is not in this checkout's history ({error})",
                file=sys.stderr,
            )
    if only in ("", "after"):
        trees.append(("after", ROOT))
    return trees


def _baseline_tree(folder: Path) -> Path:
    """The code as it was at BASELINE, unpacked from git (the same .venv runs it)."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", BASELINE], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _make_story(tree: Path, data_dir: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", FIXTURE, str(data_dir), str(NARRATION), str(FRAMES)],
        cwd=tree, env=_env(data_dir), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(out.stdout.split()[-1])


def _env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S2I_", "NVIDIA_"))}
    return env | {
        "S2I_DATA_DIR": str(data_dir),
        "S2I_TEACHER_PASSCODE": PASSCODE,
        "S2I_APP_WORKER": "none",  # the page alone: no worker polling beside it
        "S2I_LLM": "off",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _crowd_run(tree: Path, entry: str, data_dir: Path, story_id: int, n: int) -> dict:
    with _app(tree, entry, data_dir) as (pid, url):
        warm = asyncio.run(_crowd(url, story_id, 1))[0]  # the teacher opened it first
        if warm.error:
            raise RuntimeError(f"the story page failed once alone: {warm.error}")
        before_mb, cpu_before = _rss_mb(pid), _cpu_s(pid)
        load, started = os.getloadavg()[0], time.perf_counter()
        visits = asyncio.run(_crowd(url, story_id, n, keep_open=lambda: _rss_mb(pid)))
        wall = time.perf_counter() - started
        return _summary(visits[:-1], visits[-1], before_mb, _cpu_s(pid) - cpu_before, pid) | {
            "load_1min": round(max(load, os.getloadavg()[0]), 2),
            "wall_s": round(wall, 2),
        }


async def _crowd(url: str, story_id: int, n: int, keep_open=None) -> list:
    """n students open the story at the same moment. With ``keep_open``, their sessions stay
    connected (idle) while it is called, and what it returns ends the list."""
    with ThreadPoolExecutor(max_workers=min(256, 6 * n)) as fetcher:
        crowd = [Student(url, fetcher) for _ in range(n)]
        visits: list = await asyncio.gather(*(s.visit("story", f"story={story_id}") for s in crowd))
        if keep_open is not None:
            await asyncio.sleep(2)  # the sessions settle: nothing runs, the tabs stay open
            visits.append(keep_open())
        await asyncio.gather(*(s.close() for s in crowd), return_exceptions=True)
    return visits


def _summary(visits: list[Visit], idle_mb: float, before_mb: float, cpu_s: float, pid: int):
    ok = [v for v in visits if not v.error]
    n = len(visits)
    return {
        "n": n,
        "errors": n - len(ok),
        "first_error": next((v.error for v in visits if v.error), ""),
        "screen_p50": _pct(ok, "screen_s", 50),
        "screen_p95": _pct(ok, "screen_s", 95),
        "script_p95": _pct(ok, "script_s", 95),
        "complete_p95": _pct(ok, "complete_s", 95),
        "page_mb": round(statistics.mean(v.page_bytes for v in visits) / 1e6, 3),
        "media_mb": round(statistics.mean(v.media_bytes for v in visits) / 1e6, 3),
        "server_cpu_per_visit_s": round(cpu_s / n, 4),
        "rss_before_mb": before_mb,
        "rss_peak_mb": _peak_mb(pid),
        "rss_idle_mb": idle_mb,
        "mb_per_idle_session": round((idle_mb - before_mb) / n, 2),
    }


def _pct(visits: list[Visit], key: str, q: int) -> float | None:
    values = sorted(getattr(v, key) for v in visits)
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 3)


@contextmanager
def _app(tree: Path, entry: str, data_dir: Path):
    from tests.postgres import free_port

    port = free_port()
    log = data_dir / f"app-{port}.log"
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", entry, "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=tree, env=_env(data_dir), stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, app, log)
        yield app.pid, url
    finally:
        app.terminate()
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(timeout=30)


def _wait_healthy(url: str, app: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"the app stopped at start:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the app did not answer in 180 s:\n{log.read_text()[-2000:]}")


def _status_kb(pid: int, field: str) -> int:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in lines if line.startswith(field))


def _rss_mb(pid: int) -> float:
    return round(_status_kb(pid, "VmRSS:") / 1024, 1)


def _peak_mb(pid: int) -> float:
    return round(_status_kb(pid, "VmHWM:") / 1024, 1)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _say(name: str, n: int, run: dict) -> None:
    print(
        f"   {name} N={n}: on screen p50 {run['screen_p50']} s, p95 {run['screen_p95']} s, "
        f"{run['errors']} errors, {run['server_cpu_per_visit_s']} CPU s a visit, "
        f"RSS {run['rss_before_mb']} -> {run['rss_idle_mb']} MB (load {run['load_1min']})",
        file=sys.stderr,
        flush=True,
    )


# --- the report --------------------------------------------------------------------------------
TARGET_N, TARGET_P95 = 30, 2.0


def report(r: dict | None, out_dir: Path) -> str:
    """The section of docs/performance.md, and students.png beside it."""
    if not r:
        return ""
    variants = r["variants"]
    rows = [
        f"## A class at once: N students open the same {r['frames']}-picture story\n",
        "Each student is a WebSocket session of Streamlit's own protocol (`bench/students.py`): "
        "`rerun_script` for `/story?story=ID`, the ForwardMsgs until `script_finished`, then the "
        "files the page points at, at most 6 at a time as a browser fetches them. All N start at "
        "the same moment against a fresh app (`S2I_APP_WORKER=none`, a teacher passcode set, so "
        "they are students), after one visit warmed it. *On screen*: the replay's first picture "
        "and sentence shown and the narration loaded; *all pictures*: the storyboard too. *Server "
        "CPU* is the app process's own CPU seconds per visit, which other people's work on the "
        "machine does not change; *per idle session*: the app's RSS with the N tabs open and "
        f"idle, less its RSS before, over N. *before*: the code at `{r['baseline']}` (main when "
        "issue 26 was filed), run from git in the same run; *after*: this checkout. The bench "
        "client runs on the same cores as the app, so wall times on a 2-core machine include it.\n",
        "| code | N | on screen p50 s | on screen p95 s | all pictures p95 s | errors "
        "| page over WebSocket MB | files over HTTP MB | server CPU s a visit | RSS before MB "
        "| peak MB | idle MB | MB per idle session | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, variant in variants.items():
        for n, m in variant["runs"].items():
            rows.append(
                f"| {name} | {n} | {_f(m['screen_p50'])} | {_f(m['screen_p95'])} "
                f"| {_f(m['complete_p95'])} | {m['errors']} | {m['page_mb']:.2f} "
                f"| {m['media_mb']:.2f} | {m['server_cpu_per_visit_s']:.3f} "
                f"| {m['rss_before_mb']:.0f} | {m['rss_peak_mb']:.0f} | {m['rss_idle_mb']:.0f} "
                f"| {m['mb_per_idle_session']:.2f} | {m['load_1min']:.1f} |"
            )
    rows += ["", *_verdict(variants), "", "![A class at once](../bench/results/students.png)"]
    _plot(variants, out_dir / "students.png")
    return "\n".join(rows)


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _verdict(variants: dict) -> list[str]:
    after = variants.get("after", {}).get("runs", {}).get(str(TARGET_N))
    if not after:
        return []
    p95, errors = after["screen_p95"], after["errors"]
    met = "met" if p95 is not None and p95 <= TARGET_P95 and not errors else "**missed**"
    lines = [
        f"At N = {TARGET_N}: p95 {_f(p95)} s with {errors} errors — target p95 ≤ "
        f"{TARGET_P95:g} s, no error: {met} (load {after['load_1min']:.1f} on 2 cores: a busy "
        "machine adds its own wait to every student)."
    ]
    before = variants.get("before", {}).get("runs", {}).get(str(TARGET_N))
    if before and before["screen_p95"] and p95:
        cpu = before["server_cpu_per_visit_s"] / max(after["server_cpu_per_visit_s"], 1e-9)
        page = before["page_mb"] / max(after["page_mb"], 1e-9)
        lines.append(
            f"Before/after at N = {TARGET_N}, same run: p95 {before['screen_p95'] / p95:.1f}x "
            f"shorter, {cpu:.1f}x less server CPU a visit, {page:.0f}x less over each WebSocket."
        )
    return lines


def _plot(variants: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (wait, cpu) = plt.subplots(1, 2, figsize=(10, 3.8))
    for (name, variant), colour in zip(variants.items(), ("#b5524a", "#4a7fb5"), strict=False):
        ns = [int(n) for n in variant["runs"]]
        runs = list(variant["runs"].values())
        p95 = [m["screen_p95"] or float("nan") for m in runs]
        p50 = [m["screen_p50"] or float("nan") for m in runs]
        wait.plot(ns, p95, marker="o", color=colour, label=f"{name}, p95")
        wait.plot(ns, p50, marker=".", ls="--", color=colour, label=f"{name}, p50")
        cpu.plot(ns, [m["server_cpu_per_visit_s"] for m in runs], marker="o", color=colour,
                 label=name)  # fmt: skip
    wait.set_yscale("log")
    wait.axhline(TARGET_P95, color="grey", lw=0.8, label=f"target at {TARGET_N}: {TARGET_P95:g} s")
    wait.axvline(TARGET_N, color="grey", lw=0.8)
    wait.set(title="Seconds until the replay is on screen", xlabel="students at once")
    cpu.set(title="Server CPU seconds a visit", xlabel="students at once", ylim=(0, None))
    for axes in (wait, cpu):
        axes.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.students", description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=list(CROWDS))
    parser.add_argument("--only", choices=("before", "after"), default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="s2i-students-") as scratch:
        result = students(Path(scratch), tuple(args.n), args.only)
    print(json.dumps(result, indent=2, default=asdict))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
