"""The faster-whisper engine: Whisper on CTranslate2, int8 on a CPU and float16 on CUDA.

Segments stream out of ``transcribe`` while later windows are still being decoded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import SpeechModelError
from ..settings import Settings
from .base import DecodingOptions, Segment, TranscriptionInfo, Word, translation_token_budget
from .devices import choose_device, cuda_available
from .weights import BUNDLED_MODELS, resolve_model

log = logging.getLogger(__name__)


class FasterWhisperEngine:
    """Implements ``SpeechEngine`` with faster-whisper."""

    name = "faster-whisper"

    def __init__(
        self,
        model: str,
        model_path: str,
        device: str = "auto",
        options: DecodingOptions | None = None,
    ):
        from faster_whisper import WhisperModel

        self.model = model
        self.options = options or DecodingOptions()
        self.device = choose_device(device, cuda_available("ctranslate2"))
        self.compute_type = "float16" if self.device == "cuda" else "int8"
        try:
            self._whisper = WhisperModel(
                model_path,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=os.cpu_count() or 0,
            )
        except Exception as exc:
            if self.device != "cuda" or (device or "auto").strip().lower() != "auto":
                raise _model_error(model, exc) from exc
            # A GPU is present but its CUDA libraries (cuBLAS, cuDNN) are not: use the CPU.
            log.warning("Whisper on CUDA failed (%s); falling back to the CPU.", exc)
            self.device, self.compute_type = "cpu", "int8"
            self._whisper = WhisperModel(
                model_path, device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 0
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> FasterWhisperEngine:
        path = resolve_model(settings.whisper_model, settings.cache_dir)
        options = DecodingOptions(beam_size=settings.asr_beam_size)
        return cls(settings.whisper_model, path, settings.asr_device, options)

    @property
    def beam_size(self) -> int:
        return self.options.beam_size

    @property
    def multilingual(self) -> bool:
        return bool(self._whisper.model.is_multilingual)

    def transcribe(
        self, audio: np.ndarray, language: str | None = None, task: str = "transcribe"
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        segments, info = self._whisper.transcribe(
            audio,
            language=language,
            task=task,
            word_timestamps=True,
            vad_filter=True,
            **_decoding_kwargs(self.options),
        )
        summary = TranscriptionInfo(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=float(info.duration),
            engine=self.name,
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
        )
        return (_segment(s) for s in segments), summary

    def translate(self, audio: np.ndarray, language: str) -> str:
        # One greedy-temperature beam search per sentence: translations score low log
        # probabilities, so the temperature fallback would retry (and slow down) almost every one.
        # No VAD: the span is known to hold speech, and VAD may trim a short one.
        task = "translate" if self.multilingual else "transcribe"  # English-only: already English
        segments, _ = self._whisper.transcribe(
            audio,
            language=language,
            task=task,
            vad_filter=False,
            beam_size=self.options.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            max_new_tokens=translation_token_budget(len(audio) / 16000),
        )
        return "".join(segment.text for segment in segments).strip()


def _decoding_kwargs(options: DecodingOptions) -> dict[str, Any]:
    """The options in faster-whisper's spelling."""
    return {
        "beam_size": options.beam_size,
        "best_of": options.best_of,
        "temperature": options.temperatures,
        "compression_ratio_threshold": options.compression_ratio_threshold,
        "log_prob_threshold": options.log_prob_threshold,
        "no_speech_threshold": options.no_speech_threshold,
        "condition_on_previous_text": options.condition_on_previous_text,
        "hallucination_silence_threshold": options.hallucination_silence_threshold,
    }


def _segment(s: Any) -> Segment:
    words = tuple(
        Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in s.words or ()
    )
    return Segment(
        id=int(s.id),
        start=float(s.start),
        end=float(s.end),
        text=s.text,
        words=words,
        avg_logprob=float(s.avg_logprob),
        no_speech_prob=float(s.no_speech_prob),
    )


def _model_error(setting: str, exc: Exception) -> SpeechModelError:
    return SpeechModelError(
        f"The Whisper model {setting!r} could not be loaded ({type(exc).__name__}: "
        f"{str(exc)[:200]}). Other names need an internet connection to download; set "
        f"S2I_WHISPER_MODEL to one of the bundled models ({', '.join(BUNDLED_MODELS)}) or to "
        "a folder holding a CTranslate2 Whisper model."
    )
