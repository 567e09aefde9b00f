"""Speech recognition behind one small interface, so Whisper engines can be swapped by a setting.

    base.py                   results (Word, Segment, Transcription), SpeechEngine, DecodingOptions
    registry.py               engines by name, "auto", the one engine cache, transcribe()
    devices.py                CPU or CUDA, probed without crashing
    faster_whisper_engine.py  Whisper on CTranslate2 (int8 CPU, float16 CUDA)
    openai_whisper_engine.py  OpenAI's Whisper on torch (fp16 CUDA, fp32 CPU)
    torch_batched_engine.py   Whisper on torch at the GPU's speed: every window in one batch,
                              static cache, CUDA graphs (what "auto" runs where CT2 cannot)
    guards.py                 token budget, repetition measure, loop cutting (every engine)
    heard.py                  whether usable words were heard: silence, or a misheard language
    translation.py            English per <=30 s window, given to timed spans (sentences, scenes)
    english_lines.py          whether an English line can be trusted (hallucinations.txt, ...)
    languages.py              the languages Whisper knows, by name
    weights.py                the bundled models, found or assembled on disk
    ct2_to_whisper.py         CTranslate2 weights -> an openai-whisper checkpoint

Engine modules are imported only when chosen: torch takes seconds to import.
"""

from .base import (
    NO_WORDS_HEARD,
    DecodingOptions,
    Segment,
    SpeechEngine,
    Transcription,
    TranscriptionInfo,
    Word,
    normalize_language,
    uncertain_language,
    whisper_languages,
)
from .devices import DeviceProbe, choose_device, cuda_available, device_label, probe_devices
from .heard import misheard_message, nothing_heard, usable_segments
from .languages import LANGUAGE_NAMES, language_name
from .registry import (
    ENGINES,
    choose_engine,
    engine_name,
    load_engine,
    loaded_engine,
    register,
    transcribe,
)

__all__ = [
    "ENGINES",
    "LANGUAGE_NAMES",
    "NO_WORDS_HEARD",
    "DecodingOptions",
    "DeviceProbe",
    "Segment",
    "SpeechEngine",
    "Transcription",
    "TranscriptionInfo",
    "Word",
    "choose_device",
    "choose_engine",
    "cuda_available",
    "device_label",
    "engine_name",
    "language_name",
    "load_engine",
    "loaded_engine",
    "misheard_message",
    "normalize_language",
    "nothing_heard",
    "probe_devices",
    "register",
    "transcribe",
    "uncertain_language",
    "usable_segments",
    "whisper_languages",
]
