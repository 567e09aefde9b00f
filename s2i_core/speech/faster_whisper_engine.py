"""The faster-whisper engine: Whisper on CTranslate2, int8 on a CPU and float16 on CUDA.

A recording is cut at its pauses into windows (speech/windows.py) that are decoded on their own,
side by side on the CPU's cores (speech/calibration.py measures how many at once); segments stream
out in order, each window's as soon as it and the ones before it are done. A window is decoded
greedily first, and again with beam search only where the model is unsure
(``DecodingOptions.beam_below``).

The fallback ladder is our own (``GuardedWhisperModel``): CTranslate2 cannot seed its sampler per
call (its random generator belongs to a worker thread and is seeded once, OpenNMT/CTranslate2#1757),
so the rungs above temperature 0 retry deterministically instead of sampling, and the same audio
always gives the same text, whichever core decodes which window.
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer

from ..errors import SpeechModelError
from ..settings import Settings
from .base import DecodingOptions, Segment, TranscriptionInfo, Word
from .calibration import (
    Layout,
    cached_layout,
    candidate_layouts,
    choose_layout,
    default_layout,
    fingerprint,
    layout_trial,
    usable_cores,
)
from .devices import choose_device, cuda_available
from .guards import compression_ratio, cut_before_loop, token_budget
from .weights import BUNDLED_MODELS, resolve_model
from .windows import SAMPLE_RATE, Window, plan_windows

log = logging.getLogger(__name__)
# int8 on a CPU: against float32 it takes about 0.6x the CPU time for the same words (WER within
# 0.01 on every benchmark clip; docs/performance.md). The compute type changes the words, so it is
# chosen here, not by a timer.
CPU_COMPUTE_TYPE = "int8"
WINDOW_SAMPLES = 30 * SAMPLE_RATE
SILENCE = np.zeros(SAMPLE_RATE // 10, dtype=np.float32)


class FasterWhisperEngine:
    """Implements ``SpeechEngine`` with faster-whisper."""

    name = "faster-whisper"

    def __init__(
        self,
        model: str,
        model_path: str,
        device: str = "auto",
        options: DecodingOptions | None = None,
        layout: Layout | None = None,
        compute_type: str | None = None,  # None: int8 on a CPU, float16 on CUDA
    ):
        self.model = model
        self.options = options or DecodingOptions()
        self.device = choose_device(device, cuda_available("ctranslate2"))
        self.compute_type = compute_type or (
            "float16" if self.device == "cuda" else CPU_COMPUTE_TYPE
        )
        self.layout = layout or _device_layout(self.device)
        try:
            self._whisper = self._load(model_path)
        except Exception as exc:
            if self.device != "cuda" or (device or "auto").strip().lower() != "auto":
                raise _model_error(model, exc) from exc
            # A GPU is present but its CUDA libraries (cuBLAS, cuDNN) are not: use the CPU.
            log.warning("Whisper on CUDA failed (%s); falling back to the CPU.", exc)
            self.device, self.compute_type = "cpu", CPU_COMPUTE_TYPE
            self.layout = default_layout()
            self._whisper = self._load(model_path)
        self._pool = ThreadPoolExecutor(self.layout.workers, thread_name_prefix="whisper-window")

    def _load(self, model_path: str) -> GuardedWhisperModel:
        return GuardedWhisperModel(
            model_path,
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=self.layout.threads,
            num_workers=self.layout.workers,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> FasterWhisperEngine:
        path = resolve_model(settings.whisper_model, settings.cache_dir)
        options = DecodingOptions(beam_size=settings.asr_beam_size)
        device = choose_device(settings.asr_device, cuda_available("ctranslate2"))
        layout = cpu_layout(settings, path) if device == "cpu" else None
        return cls(settings.whisper_model, path, device, options, layout)

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
        if self.options.pause_windows is None:
            segments, info = self._decode(audio, language, task, self.options, True, prompt)
            return (_segment(s) for s in segments if s.text.strip()), info
        return self._transcribe_windows(audio, language, task, prompt)

    def translate(self, audio: np.ndarray, language: str) -> list[Segment]:
        """English segments, timed from the start of ``audio`` (one window or a few)."""
        if not self.multilingual:  # an English-only model: the speech is English already
            segments, _ = self.transcribe(audio, "en")
            return list(segments)
        segments, _ = self._decode(
            audio, language, "translate", self.options.for_translation(), word_timestamps=False
        )
        return [_segment(s) for s in segments if s.text.strip()]

    # --- a recording cut at pauses, its windows decoded side by side ---------------------------
    def _transcribe_windows(
        self, audio: np.ndarray, language: str | None, task: str, prompt: str
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        options = self.options
        call = Call(
            whisper=copy.copy(self._whisper),  # shares the weights; holds this call's ladder
            audio=audio,
            windows=plan_windows(
                audio, options.pause_windows, options.hallucination_silence_threshold
            ),
        )
        jobs = [self._pool.submit(self._window, call, i) for i in range(len(call.windows))]
        try:
            language, probability = self._language(call, language)
            call.whisper.ladder = Ladder(options, probability)  # 1.0 for a given language
            call.ready.set_result(self._decoding_setup(call.whisper, language, task, prompt))
        except BaseException as exc:
            call.ready.set_exception(exc)
            raise
        speech = sum(window.seconds for window in call.windows)  # VAD's speech, padded a little
        summary = self._info(language, probability, len(audio) / SAMPLE_RATE, speech)
        return _in_order(jobs, call), summary

    def _language(self, call: Call, language: str | None) -> tuple[str, float]:
        """The given language, or the one the first window's encoding says (encoded once: the
        window's decoding reuses it)."""
        if language:
            return language, 1.0
        if not call.whisper.model.is_multilingual:
            return "en", 1.0
        if call.windows:
            encoded = call.first_encoding.result()
        else:  # nothing heard: Whisper still names a language for the no-speech message
            encoded = call.whisper.encode(_first_window(call.whisper, call.audio))
        token, probability = call.whisper.model.detect_language(encoded)[0][0]
        return token[2:-2], float(probability)

    def _decoding_setup(
        self, whisper: WhisperModel, language: str, task: str, prompt: str
    ) -> tuple:
        """The tokenizer, and faster-whisper's own options for these settings (as its transcribe
        builds them: nothing is decoded until its segments are read, and these are never read).
        A prompt (the story so far) is seen by every window."""
        _, info = whisper.transcribe(
            SILENCE, language=language, task=task, word_timestamps=True, vad_filter=False,
            initial_prompt=prompt or None, **_decoding_kwargs(self.options),
        )  # fmt: skip
        tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task, language)
        return tokenizer, info.transcription_options

    def _window(self, call: Call, index: int) -> list[Segment]:
        """One window: encoded (the first one also for the language), decoded once the language
        is known, its segments timed from the start of the recording."""
        window = call.windows[index]
        if call.cancelled and index > 0:
            return []
        try:
            features = call.whisper.feature_extractor(call.audio[window.start : window.end])
            encoded = call.whisper.encode(pad_or_trim(features[:, : features.shape[-1] - 1]))
        except BaseException as exc:
            if index == 0:  # the language waits for it
                call.first_encoding.set_exception(exc)
            raise
        if index == 0:
            call.first_encoding.set_result(encoded)
        tokenizer, options = call.ready.result()
        budget = token_budget(window.seconds, self.options.max_tokens_per_second)
        options = replace(options, max_new_tokens=budget, clip_timestamps=[])
        segments = call.whisper.generate_segments(features, tokenizer, options, False, encoded)
        return [_moved(_segment(s), window.offset) for s in segments if s.text.strip()]

    # --- one span, Whisper's own 30 s windows one after another --------------------------------
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
        speech = float(info.duration_after_vad) if word_timestamps else None
        return segments, self._info(info.language, info.language_probability, info.duration, speech)

    def _info(
        self, language: str, probability: float, duration: float, speech: float | None
    ) -> TranscriptionInfo:
        return TranscriptionInfo(
            language=language,
            language_probability=float(probability),
            duration=float(duration),
            engine=self.name,
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
            speech_seconds=speech,
        )


@dataclass
class Call:
    """One transcription's state, shared by the jobs decoding its windows."""

    whisper: GuardedWhisperModel
    audio: np.ndarray
    windows: list[Window]
    first_encoding: Future = field(default_factory=Future)  # the first window's encoder output
    ready: Future = field(default_factory=Future)  # (tokenizer, options) once the language is known
    cancelled: bool = False  # the reader stopped: windows not yet started are skipped


def _in_order(jobs: list[Future], call: Call) -> Iterator[Segment]:
    """The windows' segments in the recording's order, numbered, each window's as soon as it and
    the ones before it are done."""
    numbers = itertools.count(1)
    try:
        for job in jobs:
            for segment in job.result():
                yield replace(segment, id=next(numbers))
    finally:
        call.cancelled = True
        for job in jobs:
            job.cancel()


def _first_window(whisper: WhisperModel, audio: np.ndarray) -> np.ndarray:
    features = whisper.feature_extractor(audio[:WINDOW_SAMPLES])
    return pad_or_trim(features[:, :-1])


def _device_layout(device: str) -> Layout:
    """Without a measurement: on a GPU one window at a time (its CPU threads only feed it), on a
    CPU one window per core."""
    return Layout(1, usable_cores()) if device == "cuda" else default_layout()


def cpu_layout(settings: Settings, model_path: str) -> Layout:
    """S2I_ASR_THREADS, or ("auto") the layout measured on this machine, once."""
    if settings.asr_threads.strip().lower() != "auto":
        return Layout.parse(settings.asr_threads)
    if not Path(model_path).is_dir():  # a name left to faster-whisper: loading it says what's wrong
        return default_layout()
    cores = usable_cores()
    candidates = candidate_layouts(cores)
    trial = partial(layout_trial, model_path, CPU_COMPUTE_TYPE, max(c.workers for c in candidates))
    return cached_layout(
        settings.cache_dir / "asr-layout.json",
        fingerprint(settings.whisper_model, CPU_COMPUTE_TYPE, cores),
        lambda: choose_layout(candidates, trial),
    )


@dataclass
class Ladder:
    """What one call's fallback ladder needs to know beyond faster-whisper's own options."""

    options: DecodingOptions
    language_probability: float

    @property
    def language_uncertain(self) -> bool:
        return self.language_probability < self.options.early_stop_below

    def greedy_first(self, beam_size: int) -> bool:
        """Whether a window is decoded greedily before any beam search: not when the model is
        unsure of the language, where the beam's words are worth their time (and a greedy pass
        would mostly be redone)."""
        return self.options.beam_below is not None and beam_size > 1 and not self.language_uncertain


@dataclass(frozen=True)
class Decoded:
    """One rung's result, shaped like CTranslate2's WhisperGenerationResult where it is read."""

    sequences_ids: list[list[int]]
    no_speech_prob: float
    avg_logprob: float
    temperature: float
    compression_ratio: float


class GuardedWhisperModel(WhisperModel):
    """faster-whisper's model with greedy decoding first where it is enough, a deterministic
    fallback ladder that stops early on hopeless audio, and a guard that cuts token loops out of
    what the ladder could not fix."""

    ladder: Ladder | None = None

    def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):
        ladder = self.ladder or Ladder(DecodingOptions(), 1.0)
        decode = partial(self._decode_rung, encoder_output, prompt, tokenizer, options)
        tried: list[Decoded] = []
        if ladder.greedy_first(options.beam_size):
            greedy = decode(0.0, {"beam_size": 1})
            if _greedy_is_enough(greedy, options, ladder.options.beam_below):
                return greedy, greedy.avg_logprob, 0.0, greedy.compression_ratio
            log.debug("beam search redoes a greedy window (avg log prob %.2f)", greedy.avg_logprob)
            tried.append(greedy)
        spent = sum(len(d.sequences_ids[0]) for d in tried)  # tokens decoded for this window
        for temperature in options.temperatures:
            decoded = decode(temperature, _rung(temperature, options))
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

    def _decode_rung(
        self, encoder_output, prompt, tokenizer, options, temperature: float, rung: dict
    ) -> Decoded:
        result = self.model.generate(
            encoder_output,
            [prompt],
            length_penalty=options.length_penalty,
            max_length=min(len(prompt) + options.max_new_tokens, self.max_length),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens,
            max_initial_timestamp_index=round(options.max_initial_timestamp / self.time_precision),
            **rung,
        )[0]
        return _decoded(result, tokenizer, temperature, options.length_penalty)


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
    if _is_silence(decoded, options):
        return False  # the window is skipped as silence
    unlikely = (
        options.log_prob_threshold is not None and decoded.avg_logprob < options.log_prob_threshold
    )
    repetitive = (
        options.compression_ratio_threshold is not None
        and decoded.compression_ratio > options.compression_ratio_threshold
    )
    return repetitive or unlikely


def _greedy_is_enough(decoded: Decoded, options: Any, beam_below: float) -> bool:
    """A greedy window is kept when it passes Whisper's checks and the model was sure of its
    words, or when it is silence that is skipped anyway."""
    if _needs_fallback(decoded, options):
        return False
    return decoded.avg_logprob >= beam_below or _is_silence(decoded, options)


def _is_silence(decoded: Decoded, options: Any) -> bool:
    """Unlikely text where the model hears no speech: Whisper skips the window."""
    return (
        options.log_prob_threshold is not None
        and decoded.avg_logprob < options.log_prob_threshold
        and options.no_speech_threshold is not None
        and decoded.no_speech_prob > options.no_speech_threshold
    )


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


def _moved(segment: Segment, offset: float) -> Segment:
    """A window's segment timed from the start of the recording (the window starts ``offset`` s
    in). As on faster-whisper's own VAD path, a segment with words spans its words."""
    words = tuple(
        replace(w, start=round(w.start + offset, 3), end=round(w.end + offset, 3))
        for w in segment.words
    )
    if words:
        return replace(segment, start=words[0].start, end=words[-1].end, words=words)
    start, end = round(segment.start + offset, 3), round(segment.end + offset, 3)
    return replace(segment, start=start, end=end)


def _model_error(setting: str, exc: Exception) -> SpeechModelError:
    return SpeechModelError(
        f"The Whisper model {setting!r} could not be loaded ({type(exc).__name__}: "
        f"{str(exc)[:200]}). Other names need an internet connection to download; set "
        f"S2I_WHISPER_MODEL to one of the bundled models ({', '.join(BUNDLED_MODELS)}) or to "
        "a folder holding a CTranslate2 Whisper model."
    )
