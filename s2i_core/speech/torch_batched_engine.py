"""Whisper on torch at the speed of the GPU: every window of a recording in one batch.

What makes it fast (see bench/gpu.py for what each step bought):
- fp16 weights made once at load (the decoder's query/key/value projections fused);
- the recording is cut at VAD pauses into windows of at most 24 s (Whisper base drops words at
  the end of a full 30 s window), and all windows are decoded together: beam search runs on the
  GPU for windows x beams rows at once, with the beam bookkeeping (candidates, finished
  hypotheses, cache reordering) done in tensors, not Python;
- a static key/value cache and a captured CUDA graph for a whole decoder step (one per 32 cache
  positions, so early steps read and reorder a short cache): a step costs one graph launch
  instead of about 200 kernel launches, and the host looks at the GPU only every few steps, to
  see whether every window has finished;
- word times come from the alignment heads' cross-attention recorded during that same decoding
  (the approach of Hugging Face's token timestamps), followed by Whisper's own DTW and rules.

Decoding follows openai-whisper (decoding.py, transcribe.py, timing.py) rule for rule: timestamp
rules, blank and non-speech suppression, beam search with patience 1 and the likelihood ranker,
temperature fallback on compression ratio and log probability (seeded sampling), and the
no-speech skip. Without CUDA it runs the same code eagerly in fp32, which is how CI tests it.

The parts (``batched/``): windows.py (windows at VAD pauses, log-Mel, fp16 once), steps.py (one
decoder step for every row: weights, logit rules, static buffers, beam and sampling steps),
decoder.py (batches, CUDA graphs, results), words.py (word times from the alignment heads).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from whisper.audio import HOP_LENGTH, N_SAMPLES, SAMPLE_RATE
from whisper.decoding import detect_language as whisper_detect_language
from whisper.timing import dtw, median_filter
from whisper.tokenizer import Tokenizer, get_tokenizer

from ..settings import Settings
from .base import DecodingOptions, Segment, TranscriptionInfo, Word, normalize_language
from .batched.decoder import BatchedDecoder
from .batched.windows import (
    N_FRAMES,
    BatchOptions,
    Stopwatch,
    Window,
    WindowResult,
    is_one_stretch,
    log_mel_batch,
    plan_windows,
    prepare_model,
    use_vad_threads,
)
from .batched.words import place_words, window_segments
from .devices import choose_device, cuda_available
from .guards import token_budget


class BatchedTorchEngine:
    """Implements ``SpeechEngine``: Whisper on torch, all windows of a recording in one batch;
    fp16 with CUDA graphs on an NVIDIA GPU, fp32 eager on the CPU (the same decoding)."""

    name = "torch-batched"

    def __init__(
        self,
        model: str = "base",
        *,
        cache_dir: Path,
        device: str = "auto",
        options: DecodingOptions | None = None,
        batch: BatchOptions | None = None,
    ) -> None:
        from .openai_whisper_engine import load_whisper_model

        self.model = model.strip() or "base"
        self.options = options or DecodingOptions()
        self.batch = batch or BatchOptions()
        self.device = choose_device(device, cuda_available("torch"))
        self.compute_type = "float16" if self.device == "cuda" else "float32"
        self.whisper = prepare_model(load_whisper_model(self.model, Path(cache_dir)), self.device)
        self.dtype = self.whisper.decoder.token_embedding.weight.dtype
        self.decoder = BatchedDecoder(self.whisper, self._tokenizer("en"), self.batch)
        if self.device == "cuda":
            use_vad_threads(min(self.batch.vad_threads, os.cpu_count() or 1))
            # the encoder's convolutions always see [windows, n_mels, 3000]: let cuDNN time its
            # algorithms once per batch size (during warm_up) instead of guessing
            torch.backends.cudnn.benchmark = True
        self._lock = threading.Lock()  # one batch at a time: the decoder's buffers are shared
        self._vad_pool = ThreadPoolExecutor(1, thread_name_prefix="vad")
        self.last_run: dict = {}  # windows, stage times and temperatures of the last recording
        self.warm_up()

    @classmethod
    def from_settings(cls, settings: Settings) -> BatchedTorchEngine:
        return cls(
            settings.whisper_model,
            cache_dir=settings.cache_dir,
            device=settings.asr_device,
            options=DecodingOptions(beam_size=settings.asr_beam_size),
        )

    @property
    def beam_size(self) -> int:
        return self.options.beam_size

    def warm_up(self) -> None:
        """Pay once at load what a first recording would: the VAD model, CUDA kernels, a graph
        for every batch size (1, 2, 4, ... windows), Triton's DTW and median filter."""
        noise = np.random.default_rng(0).normal(0, 0.1, N_SAMPLES).astype(np.float32)
        plan_windows(noise)
        dtw(torch.rand(4, 8, device=self.device))
        median_filter(torch.rand(1, 4, 20, device=self.device), 7)
        tokenizer = self._tokenizer("en")
        windows = 1
        with self._lock, torch.no_grad():
            while True:
                features = self._encode(noise, [Window(0, len(noise))] * windows)
                frames = [N_FRAMES] * windows
                self.decoder.decode(features, frames, tokenizer, 0.0, self.beam_size, 4)
                if not self.decoder.graphs or windows >= self.batch.max_windows:
                    break
                windows *= 2

    def _tokenizer(self, language: str | None, task: str = "transcribe") -> Tokenizer:
        return get_tokenizer(
            self.whisper.is_multilingual,
            num_languages=self.whisper.num_languages,
            language=language,
            task=task,
        )

    def _encode(self, audio: np.ndarray, windows: list[Window]) -> Tensor:
        mel = log_mel_batch(audio, windows, self.whisper.dims.n_mels, self.device)
        parts = mel.split(self.batch.max_windows)
        return torch.cat([self.whisper.encoder(part.to(self.dtype)) for part in parts])

    def _decode(
        self,
        features: Tensor,
        frames: list[int],
        tokenizer: Tokenizer,
        temperature: float,
        sample_len: int,
    ) -> list[WindowResult]:
        """Every window at one temperature, ``max_windows`` at a time."""
        rows = self.options.beam_size if temperature == 0 else self.options.best_of
        results = []
        for start in range(0, len(frames), self.batch.max_windows):
            stop = start + self.batch.max_windows
            results += self.decoder.decode(
                features[start:stop], frames[start:stop], tokenizer, temperature, rows, sample_len
            )
        return results

    def detect_language(self, features: Tensor, language: str | None) -> tuple[str, float]:
        """The language code and its probability, from the first window's encoder output."""
        if not self.whisper.is_multilingual:
            return "en", 1.0
        if code := normalize_language(language):
            return code, 1.0
        _, probs = whisper_detect_language(self.whisper, features[:1], self._tokenizer(None))
        code = max(probs[0], key=probs[0].get)
        return code, float(probs[0][code])

    def decode_with_fallback(
        self, features: Tensor, frames: list[int], tokenizer: Tokenizer
    ) -> list[WindowResult]:
        """Beam search first; windows that repeat themselves or are unlikely are sampled again
        at rising temperatures, as Whisper's transcribe does, all of them in one batch."""
        results: list[WindowResult] = []
        pending = list(range(len(frames)))
        for temperature in self.options.temperatures:
            index = torch.tensor(pending, device=features.device)
            decoded = self._decode(
                features.index_select(0, index),
                [frames[i] for i in pending],
                tokenizer,
                temperature,
                self.batch.sample_len,
            )
            if not results:
                results = decoded
            for i, result in zip(pending, decoded, strict=True):
                results[i] = result
            pending = [i for i, r in zip(pending, decoded, strict=True) if self.needs_fallback(r)]
            if not pending:
                break
        return results

    def needs_fallback(self, result: WindowResult) -> bool:
        """Whisper's rule: too repetitive or too unlikely, unless the window is silence."""
        o = self.options
        if self.is_silent(result):
            return False
        return (
            result.compression_ratio > o.compression_ratio_threshold
            or result.avg_logprob < o.log_prob_threshold
        )

    def is_silent(self, result: WindowResult) -> bool:
        o = self.options
        return result.no_speech_prob > o.no_speech_threshold and (
            result.avg_logprob < o.log_prob_threshold
        )

    def transcribe(
        self,
        audio: np.ndarray,
        language: str | None = None,
        task: str = "transcribe",
        prompt: str = "",
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Segments with word timestamps; every window is decoded before the first one comes.
        ``prompt`` is not used: the windows of one batch are decoded side by side, none after
        another's text (a live sentence is heard without the story before it)."""
        audio = np.asarray(audio, dtype=np.float32)
        clock = Stopwatch()
        code, probability = normalize_language(language) or "en", 0.0
        windows: list[Window] = []
        results: list[WindowResult] = []
        with self._lock, torch.no_grad():
            gap = self.options.hallucination_silence_threshold
            whole = [Window(0, len(audio))]
            short = len(audio) <= self.batch.window_seconds * SAMPLE_RATE
            planned = self._vad_pool.submit(plan_windows, audio, gap, self.batch.window_seconds)
            if short and self.device == "cuda":
                # the GPU decodes the whole recording while the CPU runs the VAD; kept when the
                # VAD hears one stretch of speech (which the plan below would decode whole too)
                (code, probability), results = self._decode_windows(audio, whole, language, task)
            windows = planned.result()
            clock.lap("vad (on a GPU: with the whole recording's decoding)")
            if short and windows and is_one_stretch(windows, len(audio)):
                windows = whole
            if windows and not (results and windows == whole):
                (code, probability), results = self._decode_windows(audio, windows, language, task)
            clock.lap("decode, word alignment")
            segments = self._segments(windows, results, code, task) if windows else []
            clock.lap("segments")
            self.last_run = {
                "windows": len(windows),
                "stages": clock.laps,
                "temperatures": [r.temperature for r in results] if windows else [],
            }
        info = TranscriptionInfo(
            language=code,
            language_probability=probability,
            duration=len(audio) / SAMPLE_RATE,
            engine=self.name,
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
        )
        return iter(segments), info

    def _decode_windows(
        self, audio: np.ndarray, windows: list[Window], language: str | None, task: str
    ) -> tuple[tuple[str, float], list[WindowResult]]:
        """(language, probability) and each window decoded, fallback temperatures included."""
        features = self._encode(audio, windows)
        detected = self.detect_language(features, language)
        frames = [(w.end - w.start) // HOP_LENGTH for w in windows]
        tokenizer = self._tokenizer(detected[0], task)
        return detected, self.decode_with_fallback(features, frames, tokenizer)

    def _segments(
        self, windows: list[Window], results: list[WindowResult], language: str, task: str
    ) -> list[Segment]:
        tokenizer = self._tokenizer(language, task)
        segments: list[Segment] = []
        last_speech = 0.0
        for window, result in zip(windows, results, strict=True):
            if self.is_silent(result):
                continue
            parts = window_segments(result, tokenizer, window.seconds)
            offset = window.start / SAMPLE_RATE
            last_speech = place_words(parts, result.words, offset, last_speech, tokenizer)
            for part in parts:
                text = tokenizer.decode([t for t in part["tokens"] if t < tokenizer.eot])
                if not text.strip():
                    continue
                words = tuple(
                    Word(w["start"], w["end"], w["word"], w["probability"]) for w in part["words"]
                )
                segments.append(
                    Segment(
                        id=len(segments),
                        start=round(part["start"], 3),
                        end=round(part["end"], 3),
                        text=text,
                        words=words,
                        avg_logprob=result.avg_logprob,
                        no_speech_prob=result.no_speech_prob,
                    )
                )
        return segments

    def translate(self, audio: np.ndarray, language: str) -> list[Segment]:
        """English segments timed from the start of ``audio``: one beam search per 30 s window,
        no fallback, a token budget for each window's length."""
        audio = np.asarray(audio, dtype=np.float32)
        windows = [
            Window(start, min(start + N_SAMPLES, len(audio)))
            for start in range(0, len(audio), N_SAMPLES)
        ]
        if not windows:
            return []
        with self._lock, torch.no_grad():
            features = self._encode(audio, windows)
            code, _ = self.detect_language(features, language)
            task = "translate" if self.whisper.is_multilingual else "transcribe"
            seconds = min(len(audio) / SAMPLE_RATE, N_SAMPLES / SAMPLE_RATE)
            rate = self.options.for_translation().max_tokens_per_second
            budget = token_budget(seconds, rate)
            frames = [(w.end - w.start) // HOP_LENGTH for w in windows]
            tokenizer = self._tokenizer(code, task)
            results = self._decode(features, frames, tokenizer, 0.0, budget)
        segments: list[Segment] = []
        for window, result in zip(windows, results, strict=True):
            offset = window.start / SAMPLE_RATE
            for part in window_segments(result, tokenizer, window.seconds):
                text = tokenizer.decode([t for t in part["tokens"] if t < tokenizer.eot])
                if text.strip():
                    start, end = offset + part["start"], offset + part["end"]
                    segments.append(Segment(len(segments), round(start, 3), round(end, 3), text))
        return segments
