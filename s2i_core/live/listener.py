"""Sentences from speech cuts: each stretch of speech is transcribed once its pause is heard.

What is not yet a sentence stays *pending*: after a short pause the pending audio is transcribed
(the sentences before it as Whisper's initial prompt, so names and spelling carry on), and kept
as sentences when Whisper ends it with punctuation; otherwise it waits for more speech and is
heard again with it. A long pause, a forced cut or the end of the recording keeps whatever was
heard. Times are seconds from the start of the recording.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..speech import Segment, SpeechEngine, Word, normalize_language
from ..story.sentences import TERMINALS, Sentence, stream_sentences
from .segmenter import Cut

PROMPT_CHARS = 400  # the end of the story so far, given to Whisper as its initial prompt
# The last sentences kept, those begun up to this many seconds before the pending audio, are heard
# again with it, and only the words after them are kept (by their times): Whisper hears a
# sentence's first words in the flow of speech, not cut out of it. On story_60s (bench/live.py)
# live WER fell from 0.128 to 0.041, the whole recording's own; 4 s gave 0.064, 20 s 0.070.
CONTEXT_S = 12.0
WINDOW_S = 28.0  # Whisper hears 30 s at most: the context never makes a clip longer than this
CONTEXT_MARGIN_S = 0.1  # audio kept before the context's first word, so it is heard whole
MIN_LANGUAGE_PROBABILITY = 0.5  # a detected language is kept for the rest of the story above it
# Less new audio than this after what was kept is not heard again: Whisper fills a fraction of a
# second of a sentence's tail with words from its prompt.
MIN_NEW_SPEECH_S = 0.5
# After the last full stop of a clip, this many words or fewer, none heard with more than this
# probability, are Whisper's guesses in the trailing silence ("Bye.", "link."), not speech.
TAIL_WORDS, TAIL_PROBABILITY = 2, 0.5


@dataclass(frozen=True)
class Heard:
    """Sentences that became final, and when (``time.monotonic()``) their text was ready."""

    sentences: list[Sentence]
    ready_at: float
    seconds: float  # how long Whisper took for them (the last transcription)
    language: str


@dataclass
class _Pending:
    start: float  # seconds: where the pending audio begins
    end: float = 0.0  # and ends (the last cut's end)
    heard: tuple[float, float, list[Segment], str] | None = None  # last transcription of it


class LiveListener:
    """Turns cuts into sentences with a speech engine; one listener per live story."""

    def __init__(
        self,
        engine: SpeechEngine,
        audio: Callable[[float, float], np.ndarray],
        language: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        beam_size: int | None = None,
        context_s: float = CONTEXT_S,
    ):
        self.engine = with_beam(engine, beam_size)
        self.context_s = context_s
        self.audio = audio  # (start s, end s) -> samples of the recording so far
        self.language = normalize_language(language)
        self.clock = clock
        self.sentences: list[Sentence] = []
        self._pending: _Pending | None = None
        self._kept_to = 0.0  # seconds: the audio before this is heard and kept (or was noise)

    @property
    def pending_since(self) -> float | None:
        return self._pending.start if self._pending else None

    def hear(self, cut: Cut, transcribe: bool = True) -> Heard | None:
        """Transcribe what is pending up to ``cut``; the sentences it made final, if any.
        ``transcribe=False`` only adds the cut to what is pending (a listener behind the
        speaker hears several cuts in one pass)."""
        if self._pending is None:
            if cut.pause == "long":
                return None  # its speech was kept at the short pause before
            start = max(cut.start, self._kept_to)
            if cut.end - start < MIN_NEW_SPEECH_S:
                return None
            self._pending = _Pending(start=start)
        pending = self._pending
        pending.end = max(pending.end, cut.end)
        if not transcribe:
            return None
        started = self.clock()
        if pending.heard and pending.heard[:2] == (pending.start, pending.end):
            segments, language = pending.heard[2], pending.heard[3]  # a long pause: same audio
        else:
            segments, language = self._transcribe(pending.start, pending.end)
            pending.heard = (pending.start, pending.end, segments, language)
        words = [w for s in segments for w in s.words]
        if not words:
            if cut.ends_sentence:
                self._pending, self._kept_to = None, pending.end  # noise or breath only
            return None
        if not (cut.ends_sentence or ends_with_terminal(words[-1].word)):
            return None  # a breath inside a sentence: wait for the rest
        self._pending, self._kept_to = None, words[-1].end  # the next speech may start early
        sentences = self._number(stream_sentences(segments, language))
        self.sentences += sentences
        return Heard(sentences, self.clock(), self.clock() - started, language)

    @property
    def pending_seconds(self) -> float:
        return self._pending.end - self._pending.start if self._pending else 0.0

    def _transcribe(self, start: float, end: float) -> tuple[list[Segment], str]:
        context = self._context(start, end)
        begin = max(0.0, context[0].start - CONTEXT_MARGIN_S) if context else start
        prompt = self._prompt(self.sentences[: len(self.sentences) - len(context)])
        found, info = self.engine.transcribe(
            self.audio(begin, end), language=self.language, prompt=prompt
        )
        heard = [_shifted(s, begin) for s in found if s.text.strip()]
        segments = tidy(after(heard, start) if context else heard)
        if self.language is None and info.language_probability >= MIN_LANGUAGE_PROBABILITY:
            self.language = info.language  # the rest of the story is heard in it
        return segments, info.language

    def _context(self, start: float, end: float) -> list[Sentence]:
        """The kept sentences heard again before the audio from ``start`` to ``end``."""
        context: list[Sentence] = []
        for sentence in reversed(self.sentences):
            if start - sentence.start > self.context_s or end - sentence.start > WINDOW_S:
                break
            context.insert(0, sentence)
        return context

    @staticmethod
    def _prompt(sentences: list[Sentence]) -> str:
        text = " ".join(s.text for s in sentences)
        return text[-PROMPT_CHARS:].split(" ", 1)[-1] if len(text) > PROMPT_CHARS else text

    def _number(self, sentences) -> list[Sentence]:
        first = len(self.sentences)
        return [replace(s, index=first + i) for i, s in enumerate(sentences)]


def with_beam(engine: SpeechEngine, beam_size: int | None) -> SpeechEngine:
    """The engine decoding with ``beam_size`` (None: as it is), sharing its loaded model."""
    if beam_size is None or beam_size == engine.options.beam_size:
        return engine
    changed = copy.copy(engine)
    changed.options = replace(engine.options, beam_size=beam_size)
    return changed


def after(segments: list[Segment], start: float) -> list[Segment]:
    """The words of ``segments`` said after ``start`` (their middle after it): what is new in a
    clip that begins with sentences already kept."""
    kept = []
    for segment in segments:
        words = tuple(w for w in segment.words if (w.start + w.end) / 2 >= start)
        if words:
            text = "".join(w.word for w in words)
            kept.append(replace(segment, start=words[0].start, words=words, text=text))
    return kept


def tidy(segments: list[Segment]) -> list[Segment]:
    """What Whisper adds after a finished sentence at the end of a short clip: dots (". . .")
    and a word or two it was not sure of in the trailing silence ("Bye.")."""
    words = [w for s in segments for w in s.words if w.word.strip()]
    kept: list[Word] = []
    for word in words:
        if not any(c.isalnum() for c in word.word) and kept and ends_with_terminal(kept[-1].word):
            continue  # dots after a full stop
        kept.append(word)
    ends = [i for i, w in enumerate(kept[:-1]) if ends_with_terminal(w.word)]
    if ends:
        tail = kept[ends[-1] + 1 :]
        if len(tail) <= TAIL_WORDS and max(w.probability for w in tail) < TAIL_PROBABILITY:
            kept = kept[: ends[-1] + 1]
    keep = {id(w) for w in kept}
    tidied = []
    for segment in segments:
        mine = tuple(w for w in segment.words if id(w) in keep)
        if mine:
            tidied.append(replace(segment, words=mine, text="".join(w.word for w in mine)))
    return tidied


def _shifted(segment: Segment, offset: float) -> Segment:
    words = tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in segment.words)
    return replace(segment, start=segment.start + offset, end=segment.end + offset, words=words)


def ends_with_terminal(word: str) -> bool:
    """Whether Whisper ended this word with a sentence's punctuation (closing quotes aside)."""
    return word.rstrip().rstrip("\"'”’»)]}」』")[-1:] in TERMINALS
