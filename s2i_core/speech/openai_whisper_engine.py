"""The openai-whisper engine: OpenAI's reference Whisper on torch, fp16 on CUDA and fp32 on CPU.

It runs the bundled models offline by converting their CTranslate2 weights once (ct2_to_whisper),
so it hears exactly what the faster-whisper engine hears. Named models ("small", "medium", ...)
download on first use; a path to an openai-whisper checkpoint (.pt) loads as it is.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.error import URLError

import numpy as np
import torch
import whisper
import whisper.timing
from whisper.audio import N_FRAMES, N_SAMPLES, SAMPLE_RATE, log_mel_spectrogram, pad_or_trim
from whisper.model import Whisper

from ..errors import SpeechModelError
from ..settings import Settings
from .base import (
    DecodingOptions,
    Segment,
    TranscriptionInfo,
    Word,
    normalize_language,
)
from .ct2_to_whisper import build_model, cache_name, cached_checkpoint
from .devices import choose_device, cuda_available
from .guards import compression_ratio, token_budget
from .weights import BUNDLED_MODELS, resolve_model


def decoding_kwargs(options: DecodingOptions) -> dict[str, Any]:
    """The options in openai-whisper's spelling."""
    return {
        "beam_size": options.beam_size,
        "best_of": options.best_of,
        "temperature": options.temperatures,
        "compression_ratio_threshold": options.compression_ratio_threshold,
        "logprob_threshold": options.log_prob_threshold,
        "no_speech_threshold": options.no_speech_threshold,
        "condition_on_previous_text": options.condition_on_previous_text,
        "hallucination_silence_threshold": options.hallucination_silence_threshold,
    }


class OpenAIWhisperEngine:
    """Implements ``SpeechEngine`` with the openai-whisper package."""

    name = "openai-whisper"

    def __init__(
        self,
        model: str = "base",
        *,
        cache_dir: Path,
        device: str = "auto",
        options: DecodingOptions | None = None,
    ) -> None:
        self.model = model.strip() or "base"
        self.options = options or DecodingOptions()
        self.device = choose_device(device, cuda_available("torch"))
        self.compute_type = "float16" if self.device == "cuda" else "float32"
        if self.device == "cpu":
            torch.set_num_threads(os.cpu_count() or 1)
        self.whisper = load_whisper_model(self.model, Path(cache_dir), self.device)
        # Word timings align with dynamic time warping that numba (or triton on CUDA) compiles on
        # first use: pay those seconds while loading, not while a class waits for its storyboard.
        whisper.timing.dtw(torch.zeros((2, 3), device=self.device))
        # whisper's decoder keeps its key/value cache in hooks on the shared model, so two
        # decodes at once would mix their caches: one transcription at a time per engine.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIWhisperEngine:
        return cls(
            settings.whisper_model,
            cache_dir=settings.cache_dir,
            device=settings.asr_device,
            options=DecodingOptions(beam_size=settings.asr_beam_size),
        )

    @property
    def beam_size(self) -> int:
        return self.options.beam_size

    def transcribe(
        self,
        audio: np.ndarray,
        language: str | None = None,
        task: str = "transcribe",
        prompt: str = "",
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Segments with word timestamps; whisper decodes the whole recording before they come."""
        audio = np.asarray(audio, dtype=np.float32)
        with self._lock, torch.no_grad():
            language, probability = self.detect_language(audio, language)
            options = self.options
            if probability < options.early_stop_below:  # more rungs would only cost time
                options = replace(options, temperatures=options.temperatures[:1])
            segments = self._decode(audio, language, task, options, True, prompt)
        info = TranscriptionInfo(
            language=language,
            language_probability=probability,
            duration=len(audio) / SAMPLE_RATE,
            engine=self.name,
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
        )
        return iter(segments), info

    def translate(self, audio: np.ndarray, language: str) -> list[Segment]:
        """English segments timed from the start of ``audio``, decoded as faster-whisper's."""
        audio = np.asarray(audio, dtype=np.float32)
        task = "translate" if self.whisper.is_multilingual else "transcribe"
        with self._lock, torch.no_grad():
            language, _ = self.detect_language(audio, language)
            options = self.options.for_translation()
            return self._decode(audio, language, task, options, word_timestamps=False)

    def _decode(
        self,
        audio: np.ndarray,
        language: str,
        task: str,
        options: DecodingOptions,
        word_timestamps: bool,
        prompt: str = "",
    ) -> list[Segment]:
        """whisper.transcribe with its sampling seeded (the global torch generator is set aside
        and given back), a token budget per window, and repeating segments left out."""
        devices = [self.whisper.device] if self.device == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(options.seed)
            result = whisper.transcribe(
                self.whisper,
                audio,
                language=language,
                task=task,
                word_timestamps=word_timestamps,
                initial_prompt=prompt or None,
                fp16=self.device == "cuda",
                verbose=None,
                sample_len=token_budget(len(audio) / SAMPLE_RATE, options.max_tokens_per_second),
                **decoding_kwargs(options),
            )
        threshold = options.compression_ratio_threshold
        return [
            to_segment(s)
            for s in result["segments"]
            if s["text"].strip() and compression_ratio(s["text"].strip()) <= threshold
        ]

    def detect_language(self, audio: np.ndarray, language: str | None = None) -> tuple[str, float]:
        """The language code and its probability, from the first 30 seconds as whisper does.

        A language given by the caller is taken as certain; English-only models hear English.
        """
        if not self.whisper.is_multilingual:
            return "en", 1.0
        if code := normalize_language(language):
            return code, 1.0
        mel = log_mel_spectrogram(audio[:N_SAMPLES], self.whisper.dims.n_mels, padding=N_SAMPLES)
        mel = pad_or_trim(mel, N_FRAMES).to(self.whisper.device)
        _, probs = self.whisper.detect_language(mel.half() if self.device == "cuda" else mel)
        code = max(probs, key=probs.get)
        return code, float(probs[code])


def load_whisper_model(name: str, cache_dir: Path, device: str = "cpu") -> Whisper:
    """Load a bundled model (converted once), a CTranslate2 folder, a .pt file or a named model."""
    path = Path(name).expanduser()
    if path.is_file():
        try:
            return whisper.load_model(str(path), device=device)
        except Exception as exc:
            raise SpeechModelError(
                f"The file {path} is not an openai-whisper checkpoint ({_first_line(exc)}). Point "
                "S2I_WHISPER_MODEL at a .pt checkpoint, a model folder or a model name."
            ) from exc
    if name in BUNDLED_MODELS or path.is_dir():
        folder = Path(resolve_model(name, cache_dir))
        cache_file = cache_dir / "openai-whisper" / cache_name(name, folder)
        return build_model(cached_checkpoint(folder, cache_file), device)
    if name in whisper.available_models():
        try:
            root = cache_dir / "openai-whisper" / "downloads"
            return whisper.load_model(name, device=device, download_root=str(root))
        except (URLError, OSError, RuntimeError) as exc:  # offline, or a bad checksum
            raise SpeechModelError(
                f"The Whisper model {name!r} could not be downloaded ({_first_line(exc)}). Connect "
                "to the internet once, or use a bundled model: "
                f"{', '.join(BUNDLED_MODELS)}."
            ) from exc
    resolve_model(name, cache_dir)  # explains a missing folder
    raise SpeechModelError(
        f"There is no Whisper model called {name!r}. Set S2I_WHISPER_MODEL to a bundled model "
        f"({', '.join(BUNDLED_MODELS)}), a model folder, a .pt checkpoint or one of "
        f"{', '.join(whisper.available_models())} (these download once, online)."
    )


def to_segment(segment: dict) -> Segment:
    words = tuple(
        Word(
            start=float(w["start"]),
            end=float(w["end"]),
            word=w["word"],
            probability=float(w["probability"]),
        )
        for w in segment.get("words", ())
    )
    return Segment(
        id=int(segment["id"]),
        start=float(segment["start"]),
        end=float(segment["end"]),
        text=segment["text"],
        words=words,
        avg_logprob=float(segment["avg_logprob"]),
        no_speech_prob=float(segment["no_speech_prob"]),
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
