"""The engines by name, the one cache of loaded engines, and ``transcribe`` for a whole recording.

An engine module registers a factory here (``register``); "auto" picks the fastest engine this
machine can run (``choose_engine``); ``load_engine`` loads each configuration once per process and
every caller (app, CLI, tests, benchmark) shares it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..audio import DecodedAudio
from ..errors import SpeechModelError
from ..settings import Settings
from .base import SpeechEngine, Transcription, normalize_language
from .devices import DeviceProbe, probe_devices
from .heard import nothing_heard, usable_segments

EngineFactory = Callable[[Settings], SpeechEngine]
ENGINES: dict[str, EngineFactory] = {}
# (engine name, device) tried in order by "auto"; the probe says which ones this machine can run.
AUTO_ORDER: list[tuple[str, str, Callable[[DeviceProbe], bool]]] = [
    ("faster-whisper", "cuda", lambda probe: probe.ctranslate2_cuda),
    ("torch-batched", "cuda", lambda probe: probe.torch_cuda),
]
_loaded: dict[tuple, SpeechEngine] = {}
_load_lock = threading.Lock()


def register(name: str, factory: EngineFactory) -> None:
    """Make an engine loadable by name (S2I_ASR_ENGINE); ``factory`` imports what is heavy."""
    ENGINES[name] = factory


def _faster_whisper(settings: Settings) -> SpeechEngine:
    from .faster_whisper_engine import FasterWhisperEngine

    return FasterWhisperEngine.from_settings(settings)


def _openai_whisper(settings: Settings) -> SpeechEngine:
    try:  # imported only when chosen: it pulls in torch, which takes seconds
        from .openai_whisper_engine import OpenAIWhisperEngine
    except ImportError as exc:
        raise SpeechModelError(
            f"The openai-whisper engine is not available here ({exc}). Set S2I_ASR_ENGINE to "
            "auto or faster-whisper."
        ) from exc
    return OpenAIWhisperEngine.from_settings(settings)


def _torch_batched(settings: Settings) -> SpeechEngine:
    from .torch_batched_engine import BatchedTorchEngine

    return BatchedTorchEngine.from_settings(settings)


register("faster-whisper", _faster_whisper)
register("openai-whisper", _openai_whisper)
register("torch-batched", _torch_batched)


def choose_engine(engine: str, device: str, probe: DeviceProbe | None = None) -> tuple[str, str]:
    """(engine, device) for the settings. ``auto``: faster-whisper on a GPU CTranslate2 can use,
    else torch-batched (fp16 on torch, CUDA graphs) on any other GPU, else faster-whisper int8 on
    the CPU."""
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
    for name, chosen, runs_here in AUTO_ORDER:
        if runs_here(probe):
            return name, chosen
    if device == "cuda":
        raise SpeechModelError(
            "S2I_ASR_DEVICE is set to cuda, but no usable NVIDIA GPU was found. "
            "Set S2I_ASR_DEVICE to auto or cpu."
        )
    return "faster-whisper", "cpu"


def engine_name(settings: Settings) -> str:
    return choose_engine(settings.asr_engine, settings.asr_device)[0]


def _cache_key(settings: Settings) -> tuple:
    return (settings.asr_engine, settings.whisper_model, settings.asr_device,
            settings.asr_beam_size, settings.asr_threads,
            str(settings.cache_dir.resolve()))  # fmt: skip


def load_engine(settings: Settings) -> SpeechEngine:
    """The engine for these settings, loaded on first use and shared by every later caller."""
    key = _cache_key(settings)
    with _load_lock:
        if key not in _loaded:
            name, device = choose_engine(settings.asr_engine, settings.asr_device)
            _loaded[key] = ENGINES[name](settings.with_changes(asr_device=device))
        return _loaded[key]


def loaded_engine(settings: Settings) -> SpeechEngine | None:
    """The engine for these settings if something already loaded it; never loads one."""
    return _loaded.get(_cache_key(settings))


def transcribe(
    audio: DecodedAudio,
    settings: Settings,
    language: str | None = None,
    engine: SpeechEngine | None = None,
) -> Transcription:
    """Transcribe a whole recording; NoSpeechError when Whisper heard no usable words at all
    (MisheardLanguageError when there was speech in a language it only guessed)."""
    engine = engine or load_engine(settings)
    segments, info = engine.transcribe(audio.samples, language=normalize_language(language))
    kept = list(usable_segments(segments, info, engine.options))
    if not kept:
        raise nothing_heard(info)
    return Transcription(info=info, segments=kept)
