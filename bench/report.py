"""Tables, plots and docs/performance.md from the numbers bench/sections.py measured."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import asr, students

GPU_RESULTS = Path(__file__).parent / "results" / "gpu.json"


def write(results: dict, out_dir: Path, doc: Path) -> None:
    sections = {
        "asr": asr.report(results.get("asr"), out_dir),
        "clips": _clips(results.get("clips")),
        "storyboard": _storyboard(results.get("storyboard"), out_dir),
        "scenes": _scenes(results.get("scenes"), out_dir),
        "library": _library(results.get("library"), out_dir),
        "export": _export(results.get("export")),
        "video": _video(results.get("video"), out_dir),
        "queue": _queue(results.get("queue"), out_dir),
        "students": students.report(results.get("students"), out_dir),
        "live": _live(results.get("live"), out_dir),
    }
    parts = [_machine(results["machine"])]
    parts += [_measured(text, name, results[name]) for name, text in sections.items() if text]
    parts.append(_gpu(json.loads(GPU_RESULTS.read_text()) if GPU_RESULTS.exists() else None))
    table = "\n\n".join(s for s in parts if s)
    (out_dir / "results.md").write_text(f"# Benchmark results\n\n{table}\n")
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(DOC_HEAD + table + "\n")


DOC_HEAD = """# Performance

Measured by `make bench` (code in `bench/`), which rewrites this page, `bench/results/results.md`,
`bench/results/results.json` and the plots in `bench/results/`. Every comparison is measured side by
side in the same run on the same machine. One section alone: `.venv/bin/python -m bench asr`
(or `clips`, `storyboard`, `scenes`, `library`, `export`, `video`, `queue`, `students`, `live`);
under each heading, the command that reproduces it and the load average while it ran (the machine
is shared: above its core count, wall times include other people's work). The GPU section comes
from the run on the lent H100 described there (`bench/results/gpu.json`, written by `bench/gpu.py`).

"""


def _measured(text: str, name: str, result: dict) -> str:
    """The section with, under its heading, the command that reproduces its figures and the
    machine's load average while they were measured."""
    m = result.get("measured")
    if m:
        line = (
            f"Reproduce: `{m['command']}` · measured {m['date']} · load average (1, 5, 15 min) "
            f"{_loads(m['load_before'])} before, {_loads(m['load_after'])} after, on "
            f"{m['cores']} cores."
        )
    elif "load_average" in result or any("load" in row for row in result.get("clips", [])):
        line = (
            f"Reproduce: `.venv/bin/python -m bench {name}` · the load average is given with the "
            "figures below."
        )
    else:
        line = (
            f"Reproduce: `.venv/bin/python -m bench {name}` · the load average was not recorded "
            "for these figures (they predate the bench keeping it)."
        )
    heading, _, body = text.partition("\n")
    return f"{heading}\n\n{line}\n{body}"


def _loads(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _ok(value: float, limit: float) -> str:
    return "met" if value <= limit else "**missed**"


def _machine(m: dict) -> str:
    return (
        f"## Machine\n\n{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}, "
        f"torch {m['torch']}, CTranslate2 {m['ctranslate2']}, faster-whisper "
        f"{m['faster_whisper']}. Each section below says when it was measured (or that it was "
        "measured before the page said so)."
    )


def _clips(r: dict | None) -> str:
    if not r:
        return ""
    rows = [
        f"## Every test recording ({r['engine']} {r['compute_type']}, the CPU default, cached)\n",
        "What a teacher waits for after pressing *Transcribe*: decoding, transcription, sentences "
        "and, for other languages, the English lines (each window of up to 30 s translated once). "
        "Median of 3 runs. Target: at most 0.5x the duration + 2 s. *CPU s* is the process's own "
        "CPU time (both cores), *load* the machine's 1-minute load average then: on a shared "
        "machine wall time also holds other people's work.\n",
        "| clip | heard as (probability) | audio s | sentences | seconds "
        "| of which transcription s | CPU s | bound s | met | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {c['clip']} | {c['language']} ({c['probability']:.2f}"
            f"{', uncertain' if c['uncertain'] else ''}) | {c['duration']:.1f} "
            f"| {c['sentences']} | {c['seconds']:.2f} | {c['asr_seconds']:.2f} "
            f"| {c['cpu_seconds']:.2f} | {c['bound']:.2f} | {_ok(c['seconds'], c['bound'])} "
            f"| {c['load']:.1f} |"
            for c in r["clips"]
        ),
    ]
    missed = [c["clip"] for c in r["clips"] if c["seconds"] > c["bound"]]
    rows += [
        "",
        f"Every recording within 0.5x its duration + 2 s: {_ok(len(missed), 0)}"
        + (f" ({', '.join(missed)} over)." if missed else "."),
        "Bounded by construction: a fallback ladder that stops at its first rung when the language "
        "is uncertain, a token budget per second of audio, loops cut out, and one translation "
        "pass per 30 s window.",
    ]
    return "\n".join(rows)


def _storyboard(r: dict | None, out_dir: Path) -> str:
    if not r:
        return ""
    latency, t_asr = r["latency"], r["t_asr"]
    rows = [
        f"## Storyboard ({r['sentences']} sentences, NVIDIA stand-in latency L = {latency:.0f} s, "
        "40 requests/min; pictures drawn 4 at once, the default, unless the row says otherwise)\n",
        f"Transcription alone: T_asr = {t_asr:.2f} s; first sentence final after "
        f"{r['t_asr_first_sentence']:.2f} s. Each row is the median of {r['repeats']} runs, each "
        "against a fresh stand-in; peak in flight and requests per minute are the worst run's. "
        "*First sentence* is when that run had its first sentence ready for a picture.\n",
        "| mode | total s | floor T_asr + L | total / floor | first sentence s | first picture s "
        "| first picture − first sentence s | peak in flight | max requests in 60 s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, m in r["modes"].items():
        first_sentence = m["first_sentence"]
        rows.append(
            f"| {mode} | {m['total']:.2f} | {t_asr + latency:.2f} | "
            f"{m['total'] / (t_asr + latency):.2f} | {first_sentence:.2f} | "
            f"{m['first_picture']:.2f} | {m['first_picture'] - first_sentence:.2f} | "
            f"{m['peak_in_flight']} | {m['max_per_minute']} |"
        )
    s = r["modes"]["streamed, 6 at once"]
    s_first = s["first_sentence"]
    rows += [
        "",
        "The clip is shorter than Whisper's 30 s window, so all its sentences become final "
        "together; with 4 pictures at once the last two wait for a free slot (a second L). "
        f"Targets, on the 6-at-once row: total ≤ T_asr + 1.3·L = {t_asr + 1.3 * latency:.2f} s: "
        f"{_ok(s['total'], t_asr + 1.3 * latency)}; first picture ≤ T_asr(first sentence) + "
        f"1.2·L = {s_first + 1.2 * latency:.2f} s: "
        f"{_ok(s['first_picture'], s_first + 1.2 * latency)}; requests per "
        f"minute never over 40: {_ok(s['max_per_minute'], 40)}.",
        "",
        *_long_storyboard(r.get("long"), latency),
        "",
        "![Storyboard timings](../bench/results/storyboard.png)",
    ]
    _bar_plot(
        out_dir / "storyboard.png",
        f"Storyboard at L = {latency:.0f} s, seconds ({r['sentences']} frames unless named)",
        {
            "T_asr + L\n(floor)": t_asr + latency,
            "streamed, 6 at once\nfirst picture": s["first_picture"],
            "streamed, 6 at once\ntotal": s["total"],
            "sequential\nfirst picture": r["modes"]["sequential"]["first_picture"],
            "sequential\ntotal": r["modes"]["sequential"]["total"],
            **_long_bars(r.get("long")),
        },
    )
    return "\n".join(rows)


def _long_storyboard(r: dict | None, latency: float) -> list[str]:
    if not r:
        return []
    rows = [
        f"### A narration longer than Whisper's 30 s window ({r['clip']}, 4 pictures at once)\n",
        f"Transcription alone: T_asr = {r['t_asr']:.2f} s. Streaming starts pictures while later "
        "windows are still being transcribed.\n",
        "| mode | frames | first sentence s | first picture s | total s | peak in flight "
        "| max requests in 60 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("streamed", "sequential"):
        m = r[mode]
        rows.append(
            f"| {mode} | {m['frames']} | {m['first_sentence']:.2f} | {m['first_picture']:.2f} "
            f"| {m['total']:.2f} | {m['peak_in_flight']} | {m['max_per_minute']} |"
        )
    streamed, sequential = r["streamed"], r["sequential"]
    sooner = sequential["first_picture"] - streamed["first_picture"]
    rows += [
        "",
        f"Streamed, the first picture lands {sooner:.2f} s "
        f"sooner ({'before' if streamed['first_picture'] < r['t_asr'] else 'after'} "
        "transcription alone would have ended) and the storyboard is complete "
        f"{sequential['total'] - streamed['total']:.2f} s sooner.",
    ]
    return rows


def _long_bars(r: dict | None) -> dict[str, float]:
    if not r:
        return {}
    return {
        f"{r['clip']}\n{mode}\nfirst picture": r[mode]["first_picture"]
        for mode in ("streamed", "sequential")
    }


def _scenes(r: dict | None, out_dir: Path) -> str:
    if not r:
        return ""
    generate, cli = r["generate"], r["cli"]
    base = generate["no writer (S2I_LLM=off)"]
    rows = [
        f"## Scene writer (LLM stand-in answering in {r['llm_latency']:.0f} s, pictures in "
        f"{r['picture_latency']:.0f} s; en_story.wav, 4 sentences)\n",
        'Seconds from "Generate" to the first picture; the writer starts in the background as '
        f"soon as the transcript is ready. Median of {r['repeats']} runs.\n",
        "| case | Generate → first picture s | added by the writer s |",
        "|---|---|---|",
        *(f"| {name} | {s:.2f} | {s - base:+.2f} |" for name, s in generate.items()),
        "",
        "The CLI's `story` has no review step, so its pictures wait for the writer: seconds from "
        "the start to the first picture (transcription included).\n",
        "| CLI `story` | first picture s | added by the writer s |",
        "|---|---|---|",
        *(f"| {name} | {s:.2f} | {s - cli['no writer']:+.2f} |" for name, s in cli.items()),
        "",
        "![Scene writer timings](../bench/results/scenes.png)",
    ]
    short = (
        "no writer",
        "writer,\nGenerate at once",
        f"writer, Generate\nafter {r['reading']:.0f} s reading",
    )
    _bar_plot(
        out_dir / "scenes.png",
        "First picture, seconds (app: from Generate; CLI story: from the start)",
        {f"app: {label}": s for label, s in zip(short, generate.values(), strict=True)}
        | {f"CLI story:\n{name}": s for name, s in cli.items()},
    )
    return "\n".join(rows)


def _library(r: dict | None, out_dir: Path) -> str:
    if not r:
        return ""
    keys = ["list_ms", "list_page_20_ms", "count_ms", "search_title_ms", "search_rare_ms",
            "filter_ms", "open_ms"]  # fmt: skip
    rows = [
        f"## Library ({r['stories']} stories × {r['frames_per_story']} frames, SQLite)\n",
        "| operation | median ms |",
        "|---|---|",
        *(f"| {k.removesuffix('_ms').replace('_', ' ')} | {r[k]:.1f} |" for k in keys),
        "",
        f"Database {r['db_mb']:.1f} MB; filling it took {r['populate_s']:.1f} s. Target list and "
        f"search ≤ 50 ms: {_ok(max(r['list_ms'], r['search_title_ms'], r['search_rare_ms']), 50)}.",
        "",
        "![Library latencies](../bench/results/library.png)",
    ]
    _bar_plot(out_dir / "library.png", "Library at 1,000 stories (median ms)",
              {k.removesuffix("_ms").replace("_", "\n"): r[k] for k in keys})  # fmt: skip
    return "\n".join(rows)


def _queue(r: dict | None, out_dir: Path) -> str:
    if not r:
        return ""
    q, memory = r["three_stories"], r["memory"]
    rows = [
        "## Job queue: three stories at once on two workers\n",
        f"{q['stories']} stories × {q['frames'] // q['stories']} frames queued at the same moment "
        f"(SQLite queue), drawn by {q['workers']} `python -m s2i_core worker --queue pictures` "
        f"processes against the stand-in answering after {q['latency']:g} s, one key limited to "
        f"S2I_IMAGE_RPM={q['rpm']}.\n",
        "| measure | value |",
        "|---|---|",
        f"| all {q['frames']} pictures done | {q['total']:.1f} s |",
        f"| floor set by the rate ({q['rpm']}/min) | {q['floor']:.1f} s |",
        f"| total / floor | {q['total'] / q['floor']:.2f} |",
        f"| picture requests | {q['requests']} ({q['drawn_more_than_once']} frames drawn twice) |",
        f"| most requests in any 60 s | {q['max_per_minute']} (limit {q['rpm']}) |",
        f"| stories complete | {q['complete']} of {q['stories']} |",
        "",
        "### Memory of an app process (RSS after one story was transcribed)\n",
        "| S2I_APP_WORKER | app before | app after | separate speech worker |",
        "|---|---|---|---|",
    ]
    for mode, m in memory.items():
        worker = f"{m['worker_mb']:.0f} MB" if m["worker_mb"] else "–"
        rows.append(f"| {mode} | {m['app_idle_mb']:.0f} MB | {m['app_mb']:.0f} MB | {worker} |")
    rows += ["", "![Memory of an app process](../bench/results/queue_memory.png)"]
    _bar_plot(out_dir / "queue_memory.png", "App process RSS after a transcription (MB)",
              {f"S2I_APP_WORKER={mode}": m["app_mb"] for mode, m in memory.items()})  # fmt: skip
    return "\n".join(rows)


def _export(r: dict | None) -> str:
    if not r:
        return ""
    text = (
        f"## PDF export\n\n{r['frames']} frames with 1024×1024 PNG pictures: {r['seconds']:.2f} s, "
        f"{r['mb']:.1f} MB (median of 3). Target ≤ 2 s: {_ok(r['seconds'], 2)}."
    )
    if "seconds_zh" in r:  # the same story in Chinese: Noto Sans CJK read and subset
        text += (
            f" In Chinese: {r['seconds_zh']:.2f} s ({r['seconds_zh'] / r['seconds']:.2f}× the "
            f"English), {r['mb_zh']:.1f} MB."
        )
    return text


def _video(r: dict | None, out_dir: Path) -> str:
    if not r:
        return ""
    narration = r["narration_s"]
    rows = [
        f"## Narrated video export ({narration:.0f} s narration, {r['frames']} frames with "
        "1024×1024 PNG pictures, x264 `veryfast`, 25 fps)\n",
        "Export time against the narration's own length (*× real time*: below 1 is faster than "
        "playing it). CPU seconds are what the export used on all cores together, so they do not "
        "depend on what else the machine was doing. The 1-minute load average during the run was "
        f"{r.get('load_average', 0):.1f} on {os.cpu_count()} cores: above the core count, the "
        "export waited for other processes and its wall-clock time grew accordingly.\n",
        "| resolution | export s | CPU s | × real time | video s | MB |",
        "|---|---|---|---|---|---|",
    ]
    for resolution, m in r["runs"].items():
        rows.append(
            f"| {resolution} | {m['seconds']:.1f} | {m['cpu_seconds']:.1f} | "
            f"{m['seconds'] / narration:.2f} | {m['video_seconds']:.2f} | {m['mb']:.1f} |"
        )
    hd = r["runs"]["720p"]
    rows += [
        "",
        f"Target at 720p: export ≤ the narration's {narration:.0f} s: "
        f"{_ok(hd['seconds'], narration)} (CPU time alone: {_ok(hd['cpu_seconds'], narration)}).",
        "",
        "![Video export](../bench/results/video.png)",
    ]
    _bar_plot(
        out_dir / "video.png",
        "Narrated video export, seconds",
        {
            "narration\n(target)": narration,
            **{f"{res}\nexport": m["seconds"] for res, m in r["runs"].items()},
            **{f"{res}\nCPU": m["cpu_seconds"] for res, m in r["runs"].items()},
        },
    )
    return "\n".join(rows)


def _gpu(r: dict | None) -> str:
    if not r or "steps" not in r:
        return ""
    from bench.gpu import NARRATION, UNHEARD, table

    clips = r["steps"][-1]["clips"]
    seconds = clips[NARRATION]["seconds"]
    worst = max(c["rtf"] for c in clips.values())
    worst_heard = max(c["rtf"] for name, c in clips.items() if name not in UNHEARD)
    return "\n".join(
        [
            f"## GPU ({r['gpu']}, `S2I_ASR_ENGINE=auto`)\n",
            "Reproduce: `bench/gpu_pack.sh` here, then on the lent machine the calls it lists "
            "(`bash bench/gpu_run.sh --self-test`, `bash bench/gpu_run.sh --stash` for each part, "
            "`bash bench/gpu_run.sh`), which write `bench/results/gpu.json` · a lent machine of 16 "
            "cores runs nothing but this (no load average is kept).\n",
            "What each step of the GPU path bought, measured side by side in one run on the lent "
            "machine (`bench/gpu.py`).\n",
            table(r),
            "",
            f"~60 s narration in {seconds:.3f} s — target ≤ 0.5 s: {_ok(seconds, 0.5)}. "
            f"Worst RTF over the test recordings {worst:.4f} — target ≤ 0.01: {_ok(worst, 0.01)} "
            f"({worst_heard:.4f} without {', '.join(sorted(UNHEARD))}, which Whisper base "
            "writes as a long run of Urdu-script tokens).",
            "",
            "![GPU steps](../bench/results/gpu.png)",
            *_self_test(),
        ]
    )


def _self_test() -> list[str]:
    """The random-weight check of `python -m bench.gpu OUT --self-test`, when it was run."""
    path = GPU_RESULTS.with_name("gpu_self_test.txt")
    if not path.exists():
        return []
    text = path.read_text().strip()
    return ["", "CUDA graph against eager decoding (`--self-test`):", "", "```", text, "```"]


def _bar_plot(path: Path, title: str, values: dict[str, float]) -> None:
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(values)), 3.6))
    bars = ax.bar(list(values), list(values.values()), color="#4a7fb5")
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _live(r: dict | None, out_dir: Path) -> str:
    if not r:
        return ""
    from bench.live import report

    return report(r, out_dir).replace("(live.png)", "(../bench/results/live.png)")
