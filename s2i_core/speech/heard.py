"""Whether anything usable was heard, and what to tell the teacher when nothing was.

Silence (or noise the voice detector finds no speech in) is "no words could be heard". Speech in
a language Whisper only guessed (``language_uncertain``) that gave no usable words is a misheard
language: French heard as Thai comes back as a loop of Thai syllables or nothing at all, and the
teacher is asked which language the story is in instead. With the language only guessed, the
fallback ladder stops early (DecodingOptions.early_stop_below), so a window whose text still
repeats itself past Whisper's own limit is left out here, as Whisper would have rejected it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

from ..errors import MisheardLanguageError, NoSpeechError
from .base import NO_WORDS_HEARD, DecodingOptions, Segment, TranscriptionInfo
from .guards import compression_ratio
from .languages import language_name

log = logging.getLogger(__name__)
MIN_SPEECH_SECONDS = 1.0  # less speech than this (by the voice detector) is silence or a cough
_LOOP = re.compile(r"(.{2,20}?)\1{3,}")  # a unit of 2 to 20 characters, 4 times or more in a row
LOOP_SHARE = 4  # a loop that fills a quarter of the text or more


def usable_segments(
    segments: Iterable[Segment], info: TranscriptionInfo, options: DecodingOptions
) -> Iterator[Segment]:
    """The segments with words in them; with the language only guessed, not those whose text
    loops (``loops``)."""
    for segment in segments:
        if not segment.text.strip():
            continue
        if info.language_uncertain and loops(segment.text, options):
            log.info("left out a looping window in a guessed language: %r", segment.text[:80])
            continue
        yield segment


def loops(text: str, options: DecodingOptions) -> bool:
    """Whether ``text`` repeats itself the way a decoder stuck in a loop does: gzip shrinks it
    past Whisper's limit, or one short unit ("ฟัว", "la ") fills a quarter of it, four times or
    more in a row."""
    if compression_ratio(text) > options.compression_ratio_threshold:
        return True
    text = " ".join(text.split())
    looped = sum(len(m.group(0)) for m in _LOOP.finditer(text))
    return looped * LOOP_SHARE >= len(text) > 0


def misheard_message(language: str) -> str:
    return (
        f"We could not make out words in {language_name(language)}. Which language is the story in?"
    )


def nothing_heard(info: TranscriptionInfo) -> NoSpeechError:
    """The error for a transcription that gave no usable words: a misheard language when there
    was speech and its language was a guess, else no words heard."""
    speech = info.speech_seconds is None or info.speech_seconds >= MIN_SPEECH_SECONDS
    if info.language_uncertain and speech:
        return MisheardLanguageError(misheard_message(info.language), info.language)
    return NoSpeechError(NO_WORDS_HEARD)
