"""Speech recognition on the CPU: what each step bought, measured side by side in one run.

    .venv/bin/python -m bench asr

Every configuration runs in a process of its own (bench/asr_worker.py) and the configurations
take turns: round after round, each transcribes the ~20 s and the ~60 s narrations, so a burst of
other work on the machine slows them alike; the table gives each one's median. Then each
transcribes every test recording once for its word error rate against the texts they were spoken
from (tests/fixtures/make_fixtures.sh, bench/clips/make_clips.sh).

Marginal real-time factor: (t60 - t20) / (d60 - d20), the seconds each further second of speech
costs beyond what any recording pays (loading the audio, detecting the language, a first window).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from s2i_core.speech.calibration import Layout, candidate_layouts, usable_cores
from tests.fixtures.make_noisy import RUN_ON
from tests.wer import word_error_rate

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT / "bench" / "clips"
FIXTURES = ROOT / "tests" / "fixtures"
SHORT, LONG = CLIPS / "story_20s.ogg", CLIPS / "story_60s.ogg"
ROUNDS = 3
BEFORE = "faster-whisper before"
DEFAULT = "+ greedy first, beam where unsure (default)"
# Whisper base writes the synthetic Hindi in Latin or Urdu script: its word error rate is 1.0
# for every configuration, so the totals leave it out (it stays in the per-clip table).
NOT_IN_TOTAL = {"hi_story"}


def configurations(layout: Layout) -> dict[str, dict]:
    """The steps from openai-whisper to today's default, then the roads not taken."""
    cores = usable_cores()
    one_window = Layout(1, cores)  # what the engine did before: one window on every core
    sequential = {"pause_windows": None, "beam_below": None}
    configs = {
        "openai-whisper (fp32, beam 5)": {"engine": "openai-whisper", "options": {}},
        BEFORE: {"options": sequential, "layout": one_window},
        "+ windows cut at pauses": {"options": {"beam_below": None}, "layout": one_window},
        "+ windows side by side (layout measured)": {"options": {"beam_below": None}},
        DEFAULT: {"options": {}},
        "default in float32": {"options": {}, "compute_type": "float32"},
        "greedy only (S2I_ASR_BEAM_SIZE=1)": {"options": {"beam_size": 1}},
        # CTranslate2 runs its own kernels (softmax, norms, quantizing) as AVX2 even where the
        # CPU has AVX-512; its matrix products (oneMKL) use what the CPU has either way
        "default, CT2_FORCE_CPU_ISA=AVX512": {
            "options": {},
            "env": {"CT2_FORCE_CPU_ISA": "AVX512"},
        },
    }
    for other in candidate_layouts(cores):
        if other not in (layout, one_window):
            configs[f"default on layout {other}"] = {"options": {}, "layout": other}
    if layout != one_window:
        configs[f"default on layout {one_window}"] = {"options": {}, "layout": one_window}
    for config in configs.values():
        config.setdefault("engine", "faster-whisper")
        config["layout"] = str(config.get("layout", layout))
    return configs


class Worker:
    """One configuration's process."""

    def __init__(self, config: dict, data_dir: Path):
        config = config | {"data_dir": str(data_dir)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.asr_worker", json.dumps(config)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={"PATH": "/usr/bin:/bin", "S2I_ASR_DEVICE": "cpu", **config.get("env", {})},
        )  # fmt: skip
        self.loaded = self._answer()

    def transcribe(self, clip: Path, language: str | None = None) -> dict:
        self.process.stdin.write(json.dumps({"clip": str(clip), "language": language}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def profile(self, clip: Path) -> dict:
        """Seconds per stage of one transcription (bench/asr_worker.py's StageTimer)."""
        self.process.stdin.write(json.dumps({"clip": str(clip), "profile": True}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark worker stopped (exit {self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def measure(scratch: Path) -> dict:
    data_dir = scratch / "asr"
    first = _first_start(data_dir)
    layout = Layout.parse(first["layout"])
    configs = configurations(layout)
    workers = {}
    try:
        for name, config in configs.items():
            workers[name] = Worker(config, data_dir)
            print(f"   {name}: loaded in {workers[name].loaded['load_s']:.1f} s", file=sys.stderr)
        for worker in workers.values():
            worker.transcribe(SHORT)  # warm up
        timings = _rounds(workers)
        profile = workers[DEFAULT].profile(LONG)
        accuracy = {name: _heard_everything(worker) for name, worker in workers.items()}
        memory = {name: worker.loaded | {"peak_rss_mb": accuracy[name]["peak_rss_mb"]}
                  for name, worker in workers.items()}  # fmt: skip
    finally:
        for worker in workers.values():
            worker.close()
    return {
        "cores": usable_cores(),
        "layout": str(layout),
        "first_start": first,
        "configs": configs,
        "timings": timings,
        "profile": profile,
        "accuracy": accuracy,
        "memory": memory,
    }


def _first_start(data_dir: Path) -> dict:
    """The engine as the app loads it on a new machine: weights joined, layout measured."""
    worker = Worker({"settings": True, "engine": "faster-whisper"}, data_dir)
    try:
        first = worker.transcribe(LONG)
    finally:
        worker.close()
    saved = json.loads((data_dir / "cache" / "asr-layout.json").read_text())
    calibration = next(iter(saved.values()))
    again = Worker({"settings": True, "engine": "faster-whisper"}, data_dir)  # reads the answer
    again.close()
    print(f"   first start {worker.loaded['load_s']:.1f} s, layout {calibration['layout']}",
          file=sys.stderr)  # fmt: skip
    return {
        "load_s": worker.loaded["load_s"],
        "second_load_s": again.loaded["load_s"],
        "layout": calibration["layout"],
        "calibration_s": calibration["seconds"],
        "first_transcription_s": first["seconds"],
        "peak_rss_mb": first["peak_rss_mb"],
    }


def _rounds(workers: dict[str, Worker]) -> dict[str, dict]:
    runs: dict[str, list[dict]] = {name: [] for name in workers}
    for number in range(ROUNDS):
        for name, worker in workers.items():
            short, long = worker.transcribe(SHORT), worker.transcribe(LONG)
            runs[name].append({"short": short, "long": long})
            seconds = f"{short['seconds']:.2f} s, {long['seconds']:.2f} s"
            load = f"load {long['load']:.1f}"
            print(f"   round {number + 1} {name}: {seconds} ({load})", file=sys.stderr)
    openai = runs[next(n for n in workers if n.startswith("openai"))]
    return {name: _summary(rounds, openai) for name, rounds in runs.items()}


def _summary(rounds: list[dict], openai: list[dict]) -> dict:
    """Medians over the rounds; the speed-up against openai-whisper is taken round by round
    (the two ran minutes apart at most) and its median kept."""
    d_short, d_long = rounds[0]["short"]["duration"], rounds[0]["long"]["duration"]
    t_short = statistics.median(r["short"]["seconds"] for r in rounds)
    t_long = statistics.median(r["long"]["seconds"] for r in rounds)
    return {
        "short_s": t_short,
        "long_s": t_long,
        "short_duration": d_short,
        "long_duration": d_long,
        "rtf": t_long / d_long,
        "marginal_rtf": statistics.median(
            (r["long"]["seconds"] - r["short"]["seconds"]) / (d_long - d_short) for r in rounds
        ),
        "long_cpu_s": statistics.median(r["long"]["cpu_seconds"] for r in rounds),
        "speedup": statistics.median(
            o["long"]["seconds"] / r["long"]["seconds"] for r, o in zip(rounds, openai, strict=True)
        ),
        "load": [r[clip]["load"] for r in rounds for clip in ("short", "long")],
        "times": [[r["short"]["seconds"], r["long"]["seconds"]] for r in rounds],
    }


def _heard_everything(worker: Worker) -> dict:
    references = reference_texts()
    clips = [*sorted(FIXTURES.glob("*.wav")), SHORT, LONG]
    heard = {clip.stem: worker.transcribe(clip) for clip in clips}
    wer = {name: word_error_rate(references[name], h["text"]) for name, h in heard.items()}
    counted = [name for name in heard if name not in NOT_IN_TOTAL]
    words = {name: len(references[name].split()) for name in counted}
    total = sum(wer[name] * words[name] for name in counted) / sum(words.values())
    return {
        "wer": wer,
        "total_wer": total,
        "languages": {name: [h["language"], h["probability"]] for name, h in heard.items()},
        "texts": {name: h["text"] for name, h in heard.items()},
        "peak_rss_mb": max(h["peak_rss_mb"] for h in heard.values()),
    }


def reference_texts() -> dict[str, str]:
    """What each test recording says: the text espeak-ng was given, by clip name."""
    texts = {}
    for script in (FIXTURES / "make_fixtures.sh", CLIPS / "make_clips.sh"):
        source = script.read_text()
        variables = dict(re.findall(r'^(\w+)="(.*)"$', source, re.M))
        for name, text in re.findall(r'^speak (\S+) (?:\S+ \d+ )?"(.*)"$', source, re.M):
            for variable, value in variables.items():
                text = text.replace(f"${variable}", value)
            texts[Path(name).stem] = text
    texts["run_on_hiss"] = RUN_ON  # made by tests/fixtures/make_noisy.py, not by a `speak` line
    return texts


# --- the report -------------------------------------------------------------------------------
TARGET_MARGINAL_RTF = 0.06
TARGET_SPEEDUP = 5.0
TARGET_WER_DRIFT = 0.01


def report(r: dict | None, out_dir: Path) -> str:
    """The section of docs/performance.md, and asr_rtf.png beside it."""
    if not r or "timings" not in r:  # not measured, or by the benchmark before this one
        return (
            "## Speech recognition on the CPU (bundled multilingual base weights)\n\n"
            "Not measured since the engine cut recordings at pauses and decoded greedily first "
            "(issue 26): `.venv/bin/python -m bench asr` measures it (about 15 minutes on a quiet "
            "2-core machine) and writes this section and `bench/results/asr_rtf.png`."
        )
    plot = out_dir / "asr_rtf.png"
    low, high = _load_range(r)
    busy = (
        f" — **the machine was busy (load above its {r['cores']} cores)**: wall times hold other "
        "people's work; the ratios, taken round by round, hold less of it"
        if high > r["cores"]
        else ""
    )
    rows = [
        "## Speech recognition on the CPU (bundled multilingual base weights)\n",
        "`.venv/bin/python -m bench asr` measures this section: every configuration in a "
        f"process of its own, taking turns over {ROUNDS} rounds; each figure is the median. "
        f"1-minute load average while it ran: {low:.1f} to {high:.1f}{busy}.\n",
        *_steps_table(r),
        "",
        *_targets(r),
        "",
        *_design_lines(r),
        "",
        *_wer_table(r),
        "",
        *_profile_lines(r),
        "",
        *_first_start_lines(r),
        "",
        f"![CPU transcription]({os.path.relpath(plot, ROOT / 'docs')})",
    ]
    _plot(r, plot)
    return "\n".join(rows)


def _load_range(r: dict) -> tuple[float, float]:
    values = [load for t in r["timings"].values() for load in t["load"]]
    return min(values), max(values)


def _steps_table(r: dict) -> list[str]:
    rows = [
        "| configuration | layout | precision | 20 s clip s | 60 s clip s | RTF (60 s) "
        "| marginal RTF | × openai-whisper | CPU s (60 s) | WER | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in r["timings"].items():
        memory, accuracy = r["memory"][name], r["accuracy"][name]
        layout = memory["layout"] or "–"
        rows.append(
            f"| {name} | {layout} | {memory['compute_type']} | {t['short_s']:.2f} "
            f"| {t['long_s']:.2f} | {t['rtf']:.3f} | {t['marginal_rtf']:.3f} "
            f"| {t['speedup']:.2f}x | {t['long_cpu_s']:.2f} | {accuracy['total_wer']:.3f} "
            f"| {memory['peak_rss_mb']:.0f} |"
        )
    return rows


def _targets(r: dict) -> list[str]:
    default, before = r["timings"][DEFAULT], r["accuracy"][BEFORE]["total_wer"]
    drift = r["accuracy"][DEFAULT]["total_wer"] - before
    return [
        "Targets for the default (issue 26): marginal RTF "
        f"{default['marginal_rtf']:.3f} ≤ {TARGET_MARGINAL_RTF}: "
        f"{_ok(default['marginal_rtf'] <= TARGET_MARGINAL_RTF)}; "
        f"{default['speedup']:.2f}x openai-whisper ≥ {TARGET_SPEEDUP:.0f}x: "
        f"{_ok(default['speedup'] >= TARGET_SPEEDUP)}; word error rate "
        f"{r['accuracy'][DEFAULT]['total_wer']:.3f} against {before:.3f} before "
        f"(within {TARGET_WER_DRIFT}): {_ok(drift <= TARGET_WER_DRIFT)}. *WER* is over every "
        f"test recording but {', '.join(sorted(NOT_IN_TOTAL))} (Whisper base writes it in "
        "another script), weighted by words; *marginal RTF* is (t60 − t20) / (d60 − d20), what "
        "each further second of speech costs."
    ]


def _design_lines(r: dict) -> list[str]:
    """What the rows above decide, in words."""
    return [
        "What the rows decide: a recording is cut at its pauses into windows of at most 24 s, "
        "each decoded exactly once (Whisper's own 30 s windows decode part of the audio twice). "
        "On the CPU the windows are decoded side by side, one CTranslate2 replica per window "
        "sharing the weights (layout WORKERSxTHREADS), rather than stacked into one batch on "
        "one replica as on the GPU: the int8 matrix products of this CPU keep to one core "
        "whatever their thread count (issue 26: 9.7 s on one thread, 9.9 s on two; compare the "
        "layout rows), so a batch would leave the "
        f"other core idle. The layout is measured at first start ({r['layout']} here). The "
        "compute type is not chosen by a timer, because it changes the words: int8, against "
        "the float32 row. Each window is decoded greedily and again with beam 5 only where its "
        "mean log probability is below −0.5 or its text repeats itself (`beam_below`)."
    ]


def _wer_table(r: dict) -> list[str]:
    clips = list(next(iter(r["accuracy"].values()))["wer"])
    rows = [
        "Word error rate per recording, against the text it was spoken from:\n",
        "| configuration | " + " | ".join(clips) + " |",
        "|---|" + "---|" * len(clips),
    ]
    for name, accuracy in r["accuracy"].items():
        rows.append(f"| {name} | " + " | ".join(f"{accuracy['wer'][c]:.3f}" for c in clips) + " |")
    return rows


def _profile_lines(r: dict) -> list[str]:
    p = r["profile"]
    stages = sorted(p["stages"].items(), key=lambda item: -item[1])
    return [
        f"Where the default's time goes on the 60 s narration (one run, {p['wall']:.2f} s from "
        "start to last word; seconds per stage summed over the windows, which run "
        f"{r['layout'].split('x')[0]} at a time):\n",
        "| stage | seconds |",
        "|---|---|",
        *(f"| {stage} | {seconds:.2f} |" for stage, seconds in stages),
        f"| all stages | {sum(p['stages'].values()):.2f} |",
    ]


def _first_start_lines(r: dict) -> list[str]:
    first = r["first_start"]
    trials = ", ".join(f"{k} {v:.2f} s" for k, v in first["calibration_s"].items())
    return [
        f"First start on a new data folder: the weights are joined and the layout measured "
        f"(candidates' trial times: {trials or 'one candidate, not timed'}), engine ready "
        f"after {first['load_s']:.1f} s; later "
        f"starts read the layout ({first['second_load_s']:.1f} s). Chosen: {first['layout']} "
        "(windows decoded at once × threads each), kept in `<data dir>/cache/asr-layout.json`; "
        "`S2I_ASR_THREADS` sets it by hand. The first transcription of the 60 s narration took "
        f"{first['first_transcription_s']:.2f} s; peak memory {first['peak_rss_mb']:.0f} MB."
    ]


def _ok(met: bool) -> str:
    return "met" if met else "**missed**"


def _plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in r["timings"] if not n.startswith("openai")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.45 * len(names) + 1.6), sharey=True)
    marginal = [r["timings"][n]["marginal_rtf"] for n in names]
    speedup = [r["timings"][n]["speedup"] for n in names]
    for ax, values, target, title in (
        (left, marginal, TARGET_MARGINAL_RTF, "marginal real-time factor (lower is faster)"),
        (right, speedup, TARGET_SPEEDUP, "× openai-whisper on the 60 s narration"),
    ):
        bars = ax.barh(names, values, color="#4a7fb5")
        ax.bar_label(bars, fmt="%.3f" if ax is left else "%.1fx", fontsize=8)
        ax.axvline(target, color="#c0392b", linestyle="--", linewidth=1)
        ax.set_title(title, fontsize=9)
    left.invert_yaxis()
    left.tick_params(axis="y", labelsize=8)
    low, high = _load_range(r)
    fig.suptitle(f"1-minute load average {low:.1f} to {high:.1f} on {r['cores']} cores", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # measure and print, without touching the report: python -m bench.asr
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        print(json.dumps(measure(Path(scratch)), indent=1))
