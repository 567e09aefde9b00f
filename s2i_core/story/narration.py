"""A recording made into what the teacher said: decoded, transcribed, cut into timed sentences,
with an English line for each (what ``transcribe`` prints, and what the benchmarks time)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..audio import DecodedAudio, decode_audio, narration_for_replay
from ..settings import Settings
from ..speech import SpeechEngine, Transcription, load_engine, transcribe
from .sentences import Sentence, add_english, cap_sentences, split_sentences, stream_sentences


@dataclass
class Narration:
    """What the teacher said, decoded, transcribed and cut into sentences."""

    decoded: DecodedAudio
    transcription: Transcription
    sentences: list[Sentence]
    replay_bytes: bytes
    replay_ext: str

    @property
    def language(self) -> str:
        return self.transcription.info.language


def read_source(source: bytes | str | Path) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def transcribe_narration(
    source: bytes | str | Path,
    settings: Settings,
    engine: SpeechEngine | None = None,
    language: str | None = None,
) -> Narration:
    """The whole recording at once: checked (size and length before reading it all), decoded,
    transcribed, split into at most ``settings.max_frames`` sentences, each with its English."""
    decoded = decode_audio(source, settings)
    replay_bytes, replay_ext, _mime = narration_for_replay(read_source(source), decoded)
    engine = engine or load_engine(settings)
    transcription = transcribe(decoded, settings, language=language, engine=engine)
    lang = transcription.info.language
    sentences = split_sentences(
        transcription.segments, lang, max_frames=settings.max_frames, duration=decoded.duration
    )
    sentences = add_english(sentences, decoded, engine, lang)
    return Narration(decoded, transcription, sentences, replay_bytes, replay_ext)


def final_sentences(
    segments: Iterable, language: str, decoded: DecodedAudio, max_frames: int
) -> Iterator[Sentence]:
    """Sentences as they become final while Whisper decodes; past ``max_frames - 1`` the rest is
    joined into the last frame, which is therefore held back until the narration ends."""
    held: list[Sentence] = []
    for sentence in stream_sentences(segments, language, duration=decoded.duration):
        if sentence.index < max_frames - 1:
            yield sentence
        else:
            held.append(sentence)
    if held:
        yield dataclasses.replace(cap_sentences(held, 1)[0], index=max_frames - 1)
