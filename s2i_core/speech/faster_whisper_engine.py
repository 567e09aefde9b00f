"""The faster-whisper engine: Whisper on CTranslate2, int8 on a CPU and float16 on CUDA.

Segments stream out of ``transcribe`` while later windows are still being decoded. The fallback
ladder is our own (``GuardedWhisperModel``): CTranslate2 cannot seed its sampler per call (its
random generator belongs to a worker thread and is seeded once, OpenNMT/CTranslate2#1757), so the
rungs above temperature 0 retry deterministically instead of sampling, and the same audio always
gives the same text.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from faster_whisper import WhisperModel

from ..errors import SpeechModelError
from ..settings import Settings
from .base import DecodingOptions, Segment, TranscriptionInfo, Word
from .devices import choose_device, cuda_available
from .guards import compression_ratio, cut_before_loop, token_budget
from .weights import BUNDLED_MODELS, resolve_model

log = logging.getLogger(__name__)
SAMPLE_RATE = 16000


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
        self.model = model
        self.options = options or DecodingOptions()
        self.device = choose_device(device, cuda_available("ctranslate2"))
        self.compute_type = "float16" if self.device == "cuda" else "int8"
        try:
            self._whisper = GuardedWhisperModel(
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
            self._whisper = GuardedWhisperModel(
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
        self,
        audio: np.ndarray,
        language: str | None = None,
        task: str = "transcribe",
        prompt: str = "",
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        segments, info = self._decode(
            audio, language, task, self.options, word_timestamps=True, prompt=prompt
        )
        return (_segment(s) for s in segments if s.text.strip()), info

    def translate(self, audio: np.ndarray, language: str) -> list[Segment]:
        """English segments, timed from the start of ``audio`` (one window or a few)."""
        if not self.multilingual:  # an English-only model: the speech is English already
            segments, _ = self.transcribe(audio, "en")
            return list(segments)
        segments, _ = self._decode(
            audio, language, "translate", self.options.for_translation(), word_timestamps=False
        )
        return [_segment(s) for s in segments if s.text.strip()]

    def _decode(
        self,
        audio: np.ndarray,
        language: str | None,
        task: str,
        options: DecodingOptions,
        word_timestamps: bool,
        prompt: str = "",
    ) -> tuple[Iterator[Any], TranscriptionInfo]:
        seconds = len(audio) / SAMPLE_RATE
        whisper = copy.copy(self._whisper)  # shares the weights; holds this call's ladder state
        segments, info = whisper.transcribe(
            audio,
            language=language,
            task=task,
            word_timestamps=word_timestamps,
            vad_filter=word_timestamps,  # translation spans are known to hold speech
            max_new_tokens=token_budget(seconds, options.max_tokens_per_second),
            initial_prompt=prompt or None,
            **_decoding_kwargs(options),
        )
        whisper.ladder = Ladder(options, info.language_probability)  # 1.0 for a given language
        summary = TranscriptionInfo(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=float(info.duration),
            engine=self.name,
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
        )
        return segments, summary


@dataclass
class Ladder:
    """What one call's fallback ladder needs to know beyond faster-whisper's own options."""

    options: DecodingOptions
    language_probability: float

    @property
    def language_uncertain(self) -> bool:
        return self.language_probability < self.options.early_stop_below


@dataclass(frozen=True)
class Decoded:
    """One rung's result, shaped like CTranslate2's WhisperGenerationResult where it is read."""

    sequences_ids: list[list[int]]
    no_speech_prob: float
    avg_logprob: float
    temperature: float
    compression_ratio: float


class GuardedWhisperModel(WhisperModel):
    """faster-whisper's model with a deterministic fallback ladder that stops early on hopeless
    audio, and a guard that cuts token loops out of what the ladder could not fix."""

    ladder: Ladder | None = None

    def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):
        ladder = self.ladder or Ladder(DecodingOptions(), 1.0)
        common = {
            "length_penalty": options.length_penalty,
            "max_length": min(len(prompt) + options.max_new_tokens, self.max_length),
            "return_scores": True,
            "return_no_speech_prob": True,
            "suppress_blank": options.suppress_blank,
            "suppress_tokens": options.suppress_tokens,
            "max_initial_timestamp_index": round(
                options.max_initial_timestamp / self.time_precision
            ),
        }
        tried: list[Decoded] = []
        spent = 0  # tokens decoded for this window, over all rungs
        for temperature in options.temperatures:
            result = self.model.generate(
                encoder_output, [prompt], **common, **_rung(temperature, options)
            )[0]
            decoded = _decoded(result, tokenizer, temperature, options.length_penalty)
            tried.append(decoded)
            if not _needs_fallback(decoded, options):
                return decoded, decoded.avg_logprob, temperature, decoded.compression_ratio
            spent += len(decoded.sequences_ids[0])
            if ladder.language_uncertain:
                log.debug("language unsure: the ladder stops at %s", temperature)
                break
            if spent >= 2 * options.max_new_tokens:
                log.debug("token budget spent: the ladder stops at %s", temperature)
                break
            log.debug("window falls back from temperature %s", temperature)
        fluent = [d for d in tried if d.compression_ratio <= options.compression_ratio_threshold]
        best = max(fluent or tried, key=lambda d: d.avg_logprob)
        if best.compression_ratio > options.compression_ratio_threshold:
            kept = cut_before_loop(best.sequences_ids[0], lambda t: t >= tokenizer.timestamp_begin)
            log.debug("a loop is cut: %d of %d tokens kept", len(kept), len(best.sequences_ids[0]))
            best = replace(best, sequences_ids=[kept])
        return best, best.avg_logprob, best.temperature, best.compression_ratio


def _rung(temperature: float, options: Any) -> dict[str, Any]:
    """Decoding arguments for one rung: beam search at 0; above it a greedy retry that may not
    repeat itself, stricter the higher the rung (CTranslate2 cannot sample reproducibly)."""
    if temperature <= 0:
        return {"beam_size": options.beam_size, "patience": options.patience}
    return {
        "beam_size": 1,
        "sampling_topk": 1,
        "repetition_penalty": 1.0 + temperature / 2,
        "no_repeat_ngram_size": 4,
    }


def _decoded(result: Any, tokenizer: Any, temperature: float, length_penalty: float) -> Decoded:
    tokens = result.sequences_ids[0]
    # faster-whisper's way to recover the mean log probability from the length-penalised score
    avg_logprob = result.scores[0] * (len(tokens) ** length_penalty) / (len(tokens) + 1)
    return Decoded(
        sequences_ids=[tokens],
        no_speech_prob=result.no_speech_prob,
        avg_logprob=avg_logprob,
        temperature=temperature,
        compression_ratio=compression_ratio(tokenizer.decode(tokens).strip()),
    )


def _needs_fallback(decoded: Decoded, options: Any) -> bool:
    """Whisper's checks: too repetitive or too unlikely, unless the window is simply silent."""
    unlikely = (
        options.log_prob_threshold is not None and decoded.avg_logprob < options.log_prob_threshold
    )
    silent = (
        options.no_speech_threshold is not None
        and decoded.no_speech_prob > options.no_speech_threshold
    )
    if unlikely and silent:
        return False  # the window is skipped as silence
    repetitive = (
        options.compression_ratio_threshold is not None
        and decoded.compression_ratio > options.compression_ratio_threshold
    )
    return repetitive or unlikely


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
