"""How Whisper uses the CPU's cores: windows decoded at once × threads per window, timed once.

One window's decoding cannot keep two cores busy: it makes one token at a time, and matrix
products that small spend as long handing work to a second thread as they save (on the 2-core
benchmark machine a window decodes no faster on 2 threads than on 1). Windows decoded side by
side keep every core busy. Which layout is fastest depends on the CPU (cores, vector units,
caches), so the first engine started on a machine times the candidates on a fixed piece of work
and keeps the answer in the data folder (``<data dir>/cache/asr-layout.json``); later starts read
it. The layout never changes the words: each window is decoded on its own, the same way whatever
thread runs it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpeechModelError
from .weights import exclusive_lock

log = logging.getLogger(__name__)
MAX_WORKERS = 8  # windows decoded at once: 4 minutes of speech, more than most recordings
ROUNDS = 2  # timed runs of each candidate; the fastest counts (the first also warms it up)
VERSION = 1  # bump when the timed work changes, so old answers are measured again


@dataclass(frozen=True)
class Layout:
    """How one engine spreads over the cores."""

    workers: int  # windows decoded at the same time (CTranslate2 inter_threads, a replica each)
    threads: int  # threads inside one window's matrix products (CTranslate2 intra_threads)

    def __str__(self) -> str:
        return f"{self.workers}x{self.threads}"

    @classmethod
    def parse(cls, text: str) -> Layout:
        """ "2x1" -> two windows at once on one thread each."""
        try:
            workers, threads = (int(part) for part in text.strip().lower().split("x"))
        except ValueError:
            workers = threads = 0
        if not (1 <= workers <= MAX_WORKERS and threads >= 1):
            raise SpeechModelError(
                f"S2I_ASR_THREADS must be auto or WORKERSxTHREADS such as 2x1 (windows decoded "
                f"at once, 1 to {MAX_WORKERS}, times threads each), not {text[:40]!r}. Fix the "
                "setting."
            )
        return cls(workers, threads)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_layout(cores: int | None = None) -> Layout:
    """The layout without a measurement: one window per core."""
    cores = cores or usable_cores()
    return Layout(min(cores, MAX_WORKERS), 1)


def candidate_layouts(cores: int) -> list[Layout]:
    """Layouts that keep every core busy: a window per core, one window on all of them, and in
    between windows of 2, 4, ... threads; never more than MAX_WORKERS windows at once."""
    layouts = []
    threads = 1
    while threads <= cores:
        if cores % threads == 0 and cores // threads <= MAX_WORKERS:
            layouts.append(Layout(cores // threads, threads))
        threads *= 2
    if Layout(1, cores) not in layouts:
        layouts.append(Layout(1, cores))
    return layouts


Trial = Callable[[], None]


def choose_layout(
    candidates: list[Layout],
    prepare: Callable[[Layout], Trial],
    clock: Callable[[], float] = time.perf_counter,
    rounds: int = ROUNDS,
) -> tuple[Layout, dict[str, float]]:
    """The candidate whose trial ran fastest, and each one's best time in seconds. The rounds
    take the candidates in turn, so a burst of other work on the machine slows them alike."""
    if len(candidates) == 1:
        return candidates[0], {}
    trials = {layout: prepare(layout) for layout in candidates}
    best: dict[Layout, float] = {}
    for _ in range(rounds):
        for layout, trial in trials.items():
            started = clock()
            trial()
            best[layout] = min(best.get(layout, float("inf")), clock() - started)
    chosen = min(candidates, key=lambda layout: best[layout])
    return chosen, {str(layout): seconds for layout, seconds in best.items()}


TRIAL_TOKENS = 24  # tokens decoded per window: enough to weigh decoding against encoding


def layout_trial(model_path: str, compute_type: str, windows: int, layout: Layout) -> Trial:
    """A fixed piece of work like a recording's: ``windows`` windows, each encoded and decoded
    for TRIAL_TOKENS tokens, on the model loaded with ``layout``."""
    import numpy as np
    from faster_whisper import WhisperModel
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import Tokenizer

    model = WhisperModel(model_path, device="cpu", compute_type=compute_type,
                         cpu_threads=layout.threads, num_workers=layout.workers)  # fmt: skip
    hiss = np.random.default_rng(0).normal(0, 0.05, 30 * 16000).astype(np.float32)
    features = pad_or_trim(model.feature_extractor(hiss)[:, :-1])
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, "transcribe", "en")
    prompt = model.get_prompt(tokenizer, [], without_timestamps=True)

    def window(_: int) -> None:
        model.model.generate(
            model.encode(features), [prompt], beam_size=1,
            max_length=len(prompt) + TRIAL_TOKENS, suppress_tokens=[tokenizer.eot],
        )  # fmt: skip

    def trial() -> None:
        with ThreadPoolExecutor(layout.workers) as pool:
            list(pool.map(window, range(windows)))

    return trial


def fingerprint(model: str, compute_type: str, cores: int) -> dict[str, object]:
    """What a measured layout holds for: another CPU, core count, model or library measures
    again."""
    import ctranslate2

    return {
        "cpu": _cpu_name(),
        "cores": cores,
        "model": model,
        "compute_type": compute_type,
        "ctranslate2": ctranslate2.__version__,
        "version": VERSION,
    }


def cached_layout(
    cache_file: Path,
    key: dict[str, object],
    measure: Callable[[], tuple[Layout, dict[str, float]]],
) -> Layout:
    """The layout measured for ``key``, measuring it first if nobody has. Processes starting
    together take turns: the first measures (alone, so its timings are its own), the others read
    its answer."""
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(cache_file.with_name(f".{cache_file.name}.lock")):
        entries = _read(cache_file)
        name = json.dumps(key, sort_keys=True)
        if name in entries:
            return Layout.parse(entries[name]["layout"])
        started = time.perf_counter()
        layout, seconds = measure()
        log.info(
            "Whisper layout %s (windows x threads) chosen in %.1f s: %s",
            layout,
            time.perf_counter() - started,
            ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()),
        )
        entries[name] = {"layout": str(layout), "seconds": seconds, "key": key,
                         "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
                         "load": _load_average()}  # fmt: skip
        _write(cache_file, entries)
        return layout


def _read(cache_file: Path) -> dict[str, dict]:
    try:
        entries = json.loads(cache_file.read_text())
    except (OSError, ValueError):  # none yet, or damaged: measure again
        return {}
    return entries if isinstance(entries, dict) else {}


def _write(cache_file: Path, entries: dict[str, dict]) -> None:
    with _staging(cache_file) as staging:
        staging.write_text(json.dumps(entries, indent=1))
        os.replace(staging, cache_file)


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    handle, name = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    os.close(handle)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _load_average() -> float | None:
    """The machine's 1-minute load average while it was measured: above the core count, other
    work shared the cores (delete the file, or set S2I_ASR_THREADS, to choose again)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
