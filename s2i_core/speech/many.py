"""Several narrations in one batch on the batched torch engine: one GPU for every class.

``transcribe_many`` is what the speech worker runs when several transcriptions are queued at once
(see gathering.py): each narration is cut at its pauses (Silero VAD on the CPU, several narrations
side by side), every window of every narration goes through the encoder together, and the windows
of all narrations in one language are decoded as one batch (the decoder's prompt, start of
transcript + language + task, is shared by a batch). Each narration then gets the segments
``BatchedTorchEngine.transcribe`` gives it alone, or its own error: a narration that cannot be
heard fails alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from whisper.audio import HOP_LENGTH, SAMPLE_RATE

from ..errors import AudioError, EmptyAudioError, S2IError
from ..i18n import msg
from .base import Segment, TranscriptionInfo, normalize_language
from .batch import Heard, Narration
from .torch_batched_engine import (
    BatchedTorchEngine,
    Window,
    WindowResult,
    is_one_stretch,
    log_mel_batch,
    plan_windows,
)

VAD_WORKERS = min(8, os.cpu_count() or 1)  # narrations whose pauses are found at once
_vad_pool = ThreadPoolExecutor(VAD_WORKERS, thread_name_prefix="vad-many")


@dataclass
class _Planned:
    """A narration cut into windows, with the rows its windows take in the batch's features."""

    index: int
    audio: np.ndarray
    windows: list[Window]
    language: str | None
    task: str
    first: int = 0  # row of its first window
    code: str = "en"
    probability: float = 0.0


def transcribe_many(engine: BatchedTorchEngine, narrations: Sequence[Narration]) -> list[Heard]:
    """Each narration's segments, as ``engine.transcribe`` gives them one at a time, with all
    narrations' windows encoded and decoded together. ``engine.last_batch`` says how long each
    stage took (VAD on the CPU, then the model's time)."""
    heard = [Heard() for _ in narrations]
    clock = time.perf_counter()
    planned = _plan_all(engine, narrations, heard)
    vad_seconds = time.perf_counter() - clock
    with engine._lock, torch.no_grad():
        clock = time.perf_counter()
        try:
            _hear(engine, planned, heard)
        except Exception as error:  # the model itself failed: each narration not yet heard says so
            for plan in planned:
                if heard[plan.index].info is None and heard[plan.index].error is None:
                    heard[plan.index].error = error
        _sync(engine)
        engine.last_batch = {
            "narrations": len(narrations),
            "windows": sum(len(p.windows) for p in planned),
            "vad_s": vad_seconds,
            "model_s": time.perf_counter() - clock,
        }
    return heard


def _plan_all(
    engine: BatchedTorchEngine, narrations: Sequence[Narration], heard: list[Heard]
) -> list[_Planned]:
    """Windows of every narration, found side by side; one that cannot be read gets its error."""
    futures = [_vad_pool.submit(_windows, engine, n.audio) for n in narrations]
    planned = []
    for index, (narration, future) in enumerate(zip(narrations, futures, strict=True)):
        try:
            audio, windows = future.result()
        except S2IError as error:
            heard[index].error = error
            continue
        except Exception as error:  # what the VAD made of it is this one's alone
            heard[index].error = AudioError(
                msg(
                    "This recording could not be listened to ({kind}: {error}).",
                    kind=type(error).__name__,
                    error=error,
                )
            )
            continue
        language = normalize_language(narration.language)
        planned.append(_Planned(index, audio, windows, language, narration.task))
    return planned


def _windows(engine: BatchedTorchEngine, samples: np.ndarray) -> tuple[np.ndarray, list[Window]]:
    """The windows ``engine.transcribe`` would decode: at VAD pauses, or the whole recording when
    it is short and one stretch of speech."""
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim != 1:
        raise AudioError(
            msg(
                "A narration must be one channel of samples, not shape {shape}.",
                shape=str(audio.shape),
            )
        )
    if not np.isfinite(audio).all():
        raise AudioError(msg("This recording holds samples that are not numbers; record it again."))
    if not len(audio):
        raise EmptyAudioError(msg("This recording is empty."))
    gap = engine.options.hallucination_silence_threshold
    windows = plan_windows(audio, gap, engine.batch.window_seconds)
    short = len(audio) <= engine.batch.window_seconds * SAMPLE_RATE
    if short and windows and is_one_stretch(windows, len(audio)):
        windows = [Window(0, len(audio))]
    return audio, windows


def _hear(engine: BatchedTorchEngine, planned: list[_Planned], heard: list[Heard]) -> None:
    """Encode every window, detect languages, decode each language's windows as one batch."""
    speaking = [p for p in planned if p.windows]
    for plan in planned:
        if not plan.windows:  # silence: no segments, as transcribe gives
            plan.code = plan.language or "en"
            heard[plan.index].info = _info(engine, plan)
    if not speaking:
        return
    features = _encode(engine, speaking)
    _detect(engine, speaking, features)
    groups: dict[tuple[str, str], list[_Planned]] = {}
    for plan in speaking:
        groups.setdefault((plan.code, plan.task), []).append(plan)
    for (code, task), group in groups.items():
        rows = [plan.first + i for plan in group for i in range(len(plan.windows))]
        frames = [(w.end - w.start) // HOP_LENGTH for plan in group for w in plan.windows]
        index = torch.tensor(rows, device=features.device)
        results = engine.decode_with_fallback(
            features.index_select(0, index), frames, engine._tokenizer(code, task)
        )
        start = 0
        for plan in group:
            mine = results[start : start + len(plan.windows)]
            start += len(plan.windows)
            heard[plan.index].segments = _segments(engine, plan, mine)
            heard[plan.index].info = _info(engine, plan)


def _encode(engine: BatchedTorchEngine, planned: list[_Planned]):
    """The encoder's output for every window of every narration, ``max_windows`` at a time."""
    mels, row = [], 0
    n_mels = engine.whisper.dims.n_mels
    for plan in planned:
        plan.first, row = row, row + len(plan.windows)
        mels.append(log_mel_batch(plan.audio, plan.windows, n_mels, engine.device))
    mel = torch.cat(mels)
    parts = mel.split(engine.batch.max_windows)
    return torch.cat([engine.whisper.encoder(part.to(engine.dtype)) for part in parts])


def _detect(engine: BatchedTorchEngine, planned: list[_Planned], features) -> None:
    """Each narration's language, from its first window (as transcribe detects it)."""
    for plan in planned:
        first = features[plan.first : plan.first + 1]
        plan.code, plan.probability = engine.detect_language(first, plan.language)


def _segments(
    engine: BatchedTorchEngine, plan: _Planned, results: list[WindowResult]
) -> list[Segment]:
    return engine._segments(plan.windows, results, plan.code, plan.task)


def _info(engine: BatchedTorchEngine, plan: _Planned) -> TranscriptionInfo:
    return TranscriptionInfo(
        language=plan.code,
        language_probability=plan.probability,
        duration=len(plan.audio) / SAMPLE_RATE,
        engine=engine.name,
        model=engine.model,
        device=engine.device,
        compute_type=engine.compute_type,
    )


def _sync(engine: BatchedTorchEngine) -> None:
    if engine.device == "cuda":
        torch.cuda.synchronize()
