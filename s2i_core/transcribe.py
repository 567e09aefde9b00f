"""Speech recognition behind one small interface, so Whisper engines can be swapped by a setting.

Every engine returns the dataclasses below (the shape of faster-whisper's), streams its segments
as a generator, and is loaded once per process by ``load_engine``. Engines register a factory in
``ENGINES``; "auto" picks the fastest one this machine can run (``choose_engine``).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .audio import DecodedAudio
from .errors import NoSpeechError, SpeechModelError
from .settings import Settings
from .whisper_models import BUNDLED_MODELS, resolve_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str  # as Whisper writes it: leading space in spaced scripts, punctuation attached
    probability: float


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class TranscriptionInfo:
    language: str
    language_probability: float
    duration: float
    engine: str
    model: str
    device: str
    compute_type: str


@dataclass
class Transcription:
    info: TranscriptionInfo
    segments: list[Segment]

    @property
    def text(self) -> str:
        return "".join(segment.text for segment in self.segments).strip()

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]


class SpeechEngine(Protocol):
    name: str
    model: str
    device: str
    compute_type: str

    def transcribe(
        self, audio: np.ndarray, language: str | None = None, task: str = "transcribe"
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Segments (with word timestamps) stream out as they are decoded."""
        ...

    def translate(self, audio: np.ndarray, language: str) -> str:
        """English text for a short span of speech in ``language``."""
        ...


# Whisper's own guards against runaway decoding, shared by every engine: no conditioning on the
# previous window (so one hallucination cannot feed the next), temperature fallback when a window
# repeats itself (compression ratio) or is unlikely (log prob), skip windows judged silent, and
# skip hallucinated words inside long silences.
# The beam size is a setting of its own (S2I_ASR_BEAM_SIZE): beam 5 is Whisper's most exact.
DECODE_OPTIONS: dict[str, Any] = {
    "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    "compression_ratio_threshold": 2.4,
    "log_prob_threshold": -1.0,
    "no_speech_threshold": 0.6,
    "condition_on_previous_text": False,
}
HALLUCINATION_SILENCE_SECONDS = 2.0
NO_WORDS_HEARD = (
    "No words could be heard in the recording. Speak closer to the microphone, in a quiet room, "
    "and record again."
)


# --- engine-independent helpers ----------------------------------------------------------------
def cuda_available(backend: str = "ctranslate2") -> bool:
    """Whether ``backend`` ("ctranslate2" or "torch") can run on an NVIDIA GPU here."""
    try:
        if backend == "torch":
            import torch

            return bool(torch.cuda.is_available())
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # a broken CUDA install means "no GPU", not a crash
        return False


def choose_device(requested: str, has_cuda: bool) -> str:
    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    if requested == "cuda" and not has_cuda:
        raise SpeechModelError(
            "S2I_ASR_DEVICE is set to cuda, but no usable NVIDIA GPU was found. "
            "Set S2I_ASR_DEVICE to auto or cpu."
        )
    if requested not in ("cpu", "cuda"):
        raise SpeechModelError(
            f"S2I_ASR_DEVICE must be auto, cpu or cuda, not {requested!r}. Fix the setting."
        )
    return requested


def whisper_languages() -> tuple[str, ...]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(_LANGUAGE_CODES)


def normalize_language(language: str | None) -> str | None:
    """ "en-US" -> "en"; "auto", "" or None -> None (detect); unknown codes are refused."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    if code in ("", "auto"):
        return None
    if code not in whisper_languages():
        raise SpeechModelError(
            f"Whisper does not know the language code {language!r}. Choose a language from the "
            "list or let it be detected automatically."
        )
    return code


def translation_token_budget(seconds: float) -> int:
    """Enough tokens for fast speech (about 4 a second), too few for a repetition loop."""
    return min(16 + 8 * math.ceil(seconds), 200)


def _model_error(setting: str, exc: Exception) -> SpeechModelError:
    return SpeechModelError(
        f"The Whisper model {setting!r} could not be loaded ({type(exc).__name__}: "
        f"{str(exc)[:200]}). Other names need an internet connection to download; set "
        f"S2I_WHISPER_MODEL to one of the bundled models ({', '.join(BUNDLED_MODELS)}) or to "
        "a folder holding a CTranslate2 Whisper model."
    )


# --- faster-whisper ----------------------------------------------------------------------------
class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(self, model: str, model_path: str, device: str = "auto", beam_size: int = 5):
        from faster_whisper import WhisperModel

        self.model = model
        self.beam_size = beam_size
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
        return cls(settings.whisper_model, path, settings.asr_device, settings.asr_beam_size)

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
            hallucination_silence_threshold=HALLUCINATION_SILENCE_SECONDS,
            beam_size=self.beam_size,
            **DECODE_OPTIONS,
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
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            max_new_tokens=translation_token_budget(len(audio) / 16000),
        )
        return "".join(segment.text for segment in segments).strip()


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


# --- loading, once per process -----------------------------------------------------------------
def _openai_whisper(settings: Settings) -> SpeechEngine:
    try:  # imported only when chosen: it pulls in torch, which takes seconds
        from .openai_engine import OpenAIWhisperEngine
    except ImportError as exc:
        raise SpeechModelError(
            f"The openai-whisper engine is not available here ({exc}). Set S2I_ASR_ENGINE to "
            "auto or faster-whisper."
        ) from exc
    return OpenAIWhisperEngine.from_settings(settings)


ENGINES: dict[str, Callable[[Settings], SpeechEngine]] = {
    "faster-whisper": FasterWhisperEngine.from_settings,
    "openai-whisper": _openai_whisper,
}
_loaded: dict[tuple[str, str, str, int, str], SpeechEngine] = {}
_load_lock = threading.Lock()


@dataclass(frozen=True)
class DeviceProbe:
    """What this machine can run: CTranslate2 on CUDA (needs CUDA 12's cuBLAS), torch on CUDA."""

    ctranslate2_cuda: bool
    torch_cuda: bool


def probe_devices() -> DeviceProbe:
    return DeviceProbe(
        ctranslate2_cuda=cuda_available("ctranslate2") and _cublas_for_ctranslate2(),
        torch_cuda=cuda_available("torch"),
    )


def _cublas_for_ctranslate2() -> bool:
    """CTranslate2 4.x is built against CUDA 12: without its cuBLAS a CUDA model loads, then fails
    on the first matrix product, so look for the library before choosing CTranslate2."""
    import ctypes
    import glob
    import site

    candidates = ["libcublas.so.12"] + [
        path
        for root in site.getsitepackages()
        for path in glob.glob(f"{root}/nvidia/cublas/lib/libcublas.so.12")
    ]
    for candidate in candidates:
        try:
            ctypes.CDLL(candidate)
            return True
        except OSError:
            continue
    return False


def choose_engine(engine: str, device: str, probe: DeviceProbe | None = None) -> tuple[str, str]:
    """(engine, device) for the settings. ``auto``: faster-whisper on a GPU CTranslate2 can use,
    else openai-whisper (fp16 on torch) on any other GPU, else faster-whisper int8 on the CPU."""
    engine = (engine or "auto").strip().lower()
    device = (device or "auto").strip().lower()
    if engine not in ("auto", *ENGINES):
        raise SpeechModelError(
            f"S2I_ASR_ENGINE must be auto, {' or '.join(ENGINES)}, not {engine!r}. Fix the setting."
        )
    if engine != "auto":
        return engine, device
    if device == "cpu":
        return "faster-whisper", "cpu"
    probe = probe or probe_devices()
    if probe.ctranslate2_cuda:
        return "faster-whisper", "cuda"
    if probe.torch_cuda:
        return "openai-whisper", "cuda"
    if device == "cuda":
        raise SpeechModelError(
            "S2I_ASR_DEVICE is set to cuda, but no usable NVIDIA GPU was found. "
            "Set S2I_ASR_DEVICE to auto or cpu."
        )
    return "faster-whisper", "cpu"


def device_label(device: str) -> str:
    """ "CPU", or the GPU's name for people reading a status page."""
    if device != "cuda":
        return "CPU"
    try:
        import torch

        return f"GPU ({torch.cuda.get_device_name(0)})"
    except Exception:
        return "GPU"


def engine_name(settings: Settings) -> str:
    return choose_engine(settings.asr_engine, settings.asr_device)[0]


def load_engine(settings: Settings) -> SpeechEngine:
    """The engine for these settings, loaded on first use and shared by every later caller."""
    key = (settings.asr_engine, settings.whisper_model, settings.asr_device,
           settings.asr_beam_size, str(settings.cache_dir.resolve()))  # fmt: skip
    with _load_lock:
        if key not in _loaded:
            name, device = choose_engine(settings.asr_engine, settings.asr_device)
            _loaded[key] = ENGINES[name](settings.with_changes(asr_device=device))
        return _loaded[key]


def transcribe(
    audio: DecodedAudio,
    settings: Settings,
    language: str | None = None,
    engine: SpeechEngine | None = None,
) -> Transcription:
    """Transcribe a whole recording; NoSpeechError when Whisper heard no words at all."""
    engine = engine or load_engine(settings)
    segments, info = engine.transcribe(audio.samples, language=normalize_language(language))
    kept = [segment for segment in segments if segment.text.strip()]
    if not kept:
        raise NoSpeechError(NO_WORDS_HEARD)
    return Transcription(info=info, segments=kept)
