"""Timed sentences from Whisper's timed words: one sentence becomes one storyboard frame.

``SentenceStream`` (and its generator form ``stream_sentences``) reads segments while Whisper is
still decoding and gives out each sentence once it is final, so pictures can start early.
``split_sentences`` is that same stream run to the end, then capped at ``max_frames`` by joining
neighbours; that cap needs the whole story, so it is the only way the two can differ: with no
more than ``max_frames`` sentences they give exactly the same list.

A sentence ends where punctuation ends it (. ! ? … and 。！？ । ؟ and kin), judged by pysbd for
the languages it knows, so "Mr. Smith" or "3.5" do not end one, and by a simple rule otherwise.
A long silence (``PAUSE_ENDS``) ends a sentence Whisper left without punctuation, as a listener
hears it end (flat narration often comes back unpunctuated: one picture for a whole story is
worse than two for one sentence, which the teacher joins back). A run-on (clauses.py: over about
25 words or 8 s) is cut at its clause marks where the speaker paused, and one longer than
``max_chars`` at its longest pause; a fragment shorter than
``min_chars`` ("No.") joins the sentence before it, or the next one when it comes first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import pairwise

import pysbd
from pysbd.languages import LANGUAGE_CODES as PYSBD_LANGUAGES

from ..audio import DecodedAudio
from ..speech import Segment, SpeechEngine, Word
from ..speech.english_lines import EnglishLine
from ..speech.translation import english_for_spans, translation_windows
from .clauses import RunOnLimits, clause_cuts, is_spaced

TERMINALS = ".!?…。！？｡।॥؟۔።"
_TRAILING_CLOSERS = "\"'”’»)]}」』"
_CLAUSE_MARKS = ",;:、，；：—–"
MIN_DURATION = 0.02
PAUSE_ENDS = 0.8  # seconds of silence between two words that end a sentence without a mark


@dataclass
class Sentence:
    index: int
    start: float
    end: float
    text: str
    text_en: str  # its English, for the picture ("" in another language: none to trust yet)
    words: tuple[Word, ...] = ()
    frame_id: int | None = None  # the saved frame it was read from (and is saved to); None: new
    english_problem: str = ""  # why Whisper's English line was left out (not kept in the library)


class SentenceStream:
    """Feed segments as Whisper yields them; get back the sentences that became final."""

    def __init__(
        self,
        language: str | None,
        max_chars: int = 200,
        min_chars: int = 12,
        duration: float | None = None,
        run_on: RunOnLimits | None = None,
    ):
        code = (language or "").lower().replace("_", "-").split("-")[0]
        self._segmenter = (
            pysbd.Segmenter(language=code, clean=False) if code in PYSBD_LANGUAGES else None
        )
        self.max_chars, self.min_chars, self.duration = max_chars, min_chars, duration
        self.run_on = run_on or RunOnLimits()
        self._spaced = is_spaced(code)
        self._open: list[Word] = []  # the sentence being spoken
        self._held: list[Word] | None = None  # finished, kept until we know no fragment follows
        self._carry: list[Word] = []  # a fragment that opens the next sentence
        self._clock = 0.0
        self._count = 0
        self._running_on = False  # the open words are the rest of a run-on, cut as it was said

    def feed(self, segment: Segment) -> list[Sentence]:
        ready: list[Sentence] = []
        for word in _segment_words(segment):
            self._add(word, ready)
        return ready

    def finish(self) -> list[Sentence]:
        ready: list[Sentence] = []
        if self._open:
            self._complete(self._open, ready)
            self._open = []
        if self._carry:  # a fragment at the very end joins the sentence before it
            self._held = (self._held or []) + self._carry
            self._carry = []
        if self._held:
            ready.append(self._emit(self._held))
            self._held = None
        return ready

    # --- internals -----------------------------------------------------------------------------
    def _add(self, word: Word, ready: list[Sentence]) -> None:
        # Whisper's words come in time order; clamp stray timestamps so sentences stay ordered.
        start = max(word.start, self._clock)
        word = replace(word, start=start, end=max(word.end, start))
        self._clock = word.end
        if self._open and _has_terminal(self._open[-1].word):
            words = [*self._open, word]
            cuts = self._sentence_ends(words)
            for begin, end in zip([0, *cuts], cuts, strict=False):
                self._complete(words[begin:end], ready)
            self._open = words[cuts[-1] :] if cuts else words
        elif self._open and word.start - self._open[-1].end >= PAUSE_ENDS:
            self._complete(self._open, ready)
            self._open = [word]
        else:
            self._open.append(word)
            cuts = clause_cuts(self._open, self.run_on, self._spaced, self._running_on)
            if cuts:  # a run-on still being said: its clauses so far are final
                self._complete_clauses(self._open[: cuts[-1]], cuts, ready)
                self._open = self._open[cuts[-1] :]
                self._running_on = True
        while _length(self._open) > self.max_chars and len(self._open) > 1:
            cut = self._pause_cut(self._open)
            self._complete(self._open[:cut], ready, more_to_come=True)
            self._open = self._open[cut:]
        if self._held is not None and _length(self._carry + self._open) >= self.min_chars:
            ready.append(self._emit(self._held))  # what follows is too long to be a fragment
            self._held = None

    def _complete(
        self, words: list[Word], ready: list[Sentence], more_to_come: bool = False
    ) -> None:
        """A finished sentence (``more_to_come``: the first part of a run-on still being said),
        cut into its clauses if it is a run-on."""
        cuts = clause_cuts(words, self.run_on, self._spaced, self._running_on)
        self._running_on = more_to_come
        self._complete_clauses(words, [*cuts, len(words)], ready)

    def _complete_clauses(self, words: list[Word], ends: list[int], ready: list[Sentence]) -> None:
        for begin, end in zip([0, *ends], ends, strict=False):
            self._complete_one(words[begin:end], ready)

    def _complete_one(self, words: list[Word], ready: list[Sentence]) -> None:
        words, self._carry = self._carry + words, []
        if _length(words) >= self.min_chars:
            if self._held is not None:
                ready.append(self._emit(self._held))
            self._held = words
        elif self._held is not None and _length(self._held + words) <= self.max_chars:
            self._held = self._held + words
        else:
            if self._held is not None:
                ready.append(self._emit(self._held))
                self._held = None
            self._carry = words

    def _sentence_ends(self, words: list[Word]) -> list[int]:
        """Word counts after which a sentence ends, the last (still open) sentence excluded."""
        text = "".join(w.word for w in words)
        ends = self._pysbd_ends(text) if self._segmenter else None
        if ends is None:
            return _rule_ends(words)
        boundaries, position = [], 0
        for count, word in enumerate(words[:-1], start=1):
            position += len(word.word)
            if any(end <= position for end in ends):  # a sentence ends in or after this word
                boundaries.append(count)
                ends = [end for end in ends if end > position]
        return boundaries

    def _pysbd_ends(self, text: str) -> list[int] | None:
        ends, cursor = [], 0
        for sentence in self._segmenter.segment(text)[:-1]:
            found = text.find(sentence.strip(), cursor)
            if found < 0:  # pysbd changed the text: fall back to the plain rule
                return None
            cursor = found + len(sentence.strip())
            ends.append(cursor)
        return ends

    def _pause_cut(self, words: list[Word]) -> int:
        """Where to cut a run-on: the longest pause, preferring clause marks and no fragments."""
        candidates = range(1, len(words))
        fair = [
            k for k in candidates if min(_length(words[:k]), _length(words[k:])) >= self.min_chars
        ]
        total = _length(words)

        def score(k: int) -> tuple[float, bool, float]:
            pause = round(words[k].start - words[k - 1].end, 2)
            clause = words[k - 1].word.rstrip()[-1:] in _CLAUSE_MARKS
            return pause, clause, -abs(_length(words[:k]) - total / 2)

        return max(fair or candidates, key=score)

    def _emit(self, words: list[Word]) -> Sentence:
        start, end = words[0].start, max(w.end for w in words)
        if self.duration is not None:
            start = min(max(start, 0.0), max(self.duration - MIN_DURATION, 0.0))
            end = min(end, self.duration)
        end = max(end, start + MIN_DURATION)
        text = _join(words)
        sentence = Sentence(self._count, start, end, text, text, tuple(words))
        self._count += 1
        return sentence


def stream_sentences(
    segments: Iterable[Segment],
    language: str | None,
    max_chars: int = 200,
    min_chars: int = 12,
    duration: float | None = None,
) -> Iterator[Sentence]:
    """Yield each sentence as soon as it is final, while ``segments`` is still being decoded."""
    stream = SentenceStream(language, max_chars, min_chars, duration)
    for segment in segments:
        yield from stream.feed(segment)
    yield from stream.finish()


def split_sentences(
    segments: Iterable[Segment],
    language: str | None,
    max_frames: int = 24,
    max_chars: int = 200,
    min_chars: int = 12,
    duration: float | None = None,
) -> list[Sentence]:
    """All sentences of a transcript, at most ``max_frames`` of them (indices 0..n-1)."""
    sentences = list(stream_sentences(segments, language, max_chars, min_chars, duration))
    return cap_sentences(sentences, max_frames)


def cap_sentences(sentences: list[Sentence], max_frames: int) -> list[Sentence]:
    """Join neighbours, the shortest pair first, until at most ``max_frames`` remain."""
    merged = list(sentences)
    while len(merged) > max(max_frames, 1):
        i = min(
            range(len(merged) - 1),
            key=lambda k: (
                len(merged[k].text) + len(merged[k + 1].text),
                merged[k + 1].start - merged[k].end,
            ),
        )
        merged[i : i + 2] = [_merge(merged[i], merged[i + 1])]
    return [replace(sentence, index=i) for i, sentence in enumerate(merged)]


def add_english(
    sentences: list[Sentence], audio: DecodedAudio, engine: SpeechEngine, language: str
) -> list[Sentence]:
    """Fill ``text_en``: the text itself for English, else Whisper's translation of its audio,
    each window of up to 30 s translated once (``english_for_spans``). A line that fails the
    checks (speech/english_lines.py) is left out: ``text_en`` "" and ``english_problem`` why."""
    if (language or "en").lower().startswith("en"):
        return [replace(s, text_en=s.text) for s in sentences]
    spans = [(s.start, s.end) for s in sentences]
    english = english_for_spans(engine, audio.samples, spans, language, audio.sample_rate)
    return [
        replace(s, text_en=line.text if line.usable else "", english_problem=_problem(line))
        for s, line in zip(sentences, english, strict=True)
    ]


def _problem(line: EnglishLine) -> str:
    if line.usable:
        return ""
    return line.problem or "Whisper gave no English for it"


def with_english(
    sentences: Iterable[Sentence], audio: DecodedAudio, engine: SpeechEngine, language: str
) -> Iterator[Sentence]:
    """``add_english`` for a stream: English sentences pass straight through; others are held
    until their window (up to 30 s of audio) is complete, then translated together."""
    held: list[Sentence] = []
    for sentence in sentences:
        if held and len(translation_windows([(s.start, s.end) for s in [*held, sentence]])) > 1:
            yield from add_english(held, audio, engine, language)
            held = []
        held.append(sentence)
        if (language or "en").lower().startswith("en"):
            yield from add_english(held, audio, engine, language)
            held = []
    if held:
        yield from add_english(held, audio, engine, language)


# --- helpers -----------------------------------------------------------------------------------
def _segment_words(segment: Segment) -> list[Word]:
    if segment.words:
        return [w for w in segment.words if w.word.strip()]
    if not segment.text.strip():
        return []
    return [Word(segment.start, segment.end, segment.text, 1.0)]  # engine gave no word times


def _join(words: Iterable[Word]) -> str:
    return re.sub(r"\s+", " ", "".join(w.word for w in words)).strip()


def _length(words: list[Word]) -> int:
    return len(_join(words))


def _has_terminal(word: str) -> bool:
    return word.rstrip().rstrip(_TRAILING_CLOSERS)[-1:] in TERMINALS


def _rule_ends(words: list[Word]) -> list[int]:
    """Sentence ends for languages pysbd does not know: terminal punctuation, except a period
    after a single letter ("J. Smith") or before a lowercase word ("etc. and")."""
    ends = []
    for count, (word, following) in enumerate(pairwise(words), start=1):
        token = word.word.strip().rstrip(_TRAILING_CLOSERS)
        if not _has_terminal(token):
            continue
        if token.endswith(".") and not token.endswith(".."):
            stem = token.rstrip(".")
            next_text = following.word.strip()
            if (len(stem) == 1 and stem.isalpha()) or next_text[:1].islower():
                continue
        ends.append(count)
    return ends


def _merge(a: Sentence, b: Sentence) -> Sentence:
    words = a.words + b.words
    text = _join(words) if words else f"{a.text} {b.text}".strip()
    untranslated = a.text_en == a.text and b.text_en == b.text
    text_en = text if untranslated else joined_english(a.text_en, b.text_en)
    problem = " ".join(p for p in (a.english_problem, b.english_problem) if p)
    return Sentence(
        a.index, a.start, max(a.end, b.end), text, text_en, words, english_problem=problem
    )


def joined_english(first: str, second: str) -> str:
    """The English of two sentences made one: none when either has none (half a line would
    draw half the sentence)."""
    return f"{first} {second}".strip() if first.strip() and second.strip() else ""
