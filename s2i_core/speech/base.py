"""What every speech engine shares: the result dataclasses, the engine protocol and the decoding
options. Shaped like faster-whisper's own results, so a segment streams out as soon as it is final.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..errors import SpeechModelError

NO_WORDS_HEARD = (
    "No words could be heard in the recording. Speak closer to the microphone, in a quiet room, "
    "and record again."
)


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


# Below this probability the detected language is called uncertain (`language_uncertain`): on the
# test recordings every wrong detection scored under 0.2 and every right one over 0.3 (see
# docs/performance.md), and Whisper's own detection threshold is 0.5.
LANGUAGE_UNCERTAIN_BELOW = 0.5


def uncertain_language(probability: float | None) -> bool:
    """Whether a language heard with this probability should be checked by the teacher (None:
    not heard, or heard before the probability was kept: nothing to say)."""
    return probability is not None and probability < LANGUAGE_UNCERTAIN_BELOW


@dataclass(frozen=True)
class TranscriptionInfo:
    language: str
    language_probability: float
    duration: float
    engine: str
    model: str
    device: str
    compute_type: str
    # seconds the voice detector judged to be speech; None: the engine does not say
    speech_seconds: float | None = None

    @property
    def language_uncertain(self) -> bool:
        """The language was detected, not given, and the detection is not sure of it."""
        return uncertain_language(self.language_probability)


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


TRANSLATION_TOKENS_PER_SECOND = 12.0  # see DecodingOptions.for_translation


@dataclass(frozen=True)
class DecodingOptions:
    """How Whisper decodes, the same for every engine (each spells it its own way).

    The defaults are Whisper's guards against runaway decoding: no conditioning on the previous
    window, a fallback when a window repeats itself or is unlikely, windows judged silent skipped.
    """

    # Hypotheses kept by beam search; 1 is greedy (about 1.5x faster on a CPU, slightly less exact).
    beam_size: int = 5
    # Each window is first decoded greedily, and decoded again with beam search only when its
    # mean token log probability is below this or its text repeats itself. On the test
    # recordings greedy and beam differ by at most one word in a window above it (one word in the
    # 60 s narration's 172); below it are the synthetic voices base barely follows, where the
    # beam is worth its time. None: beam search always (docs/performance.md).
    beam_below: float | None = -0.5
    # Samples drawn at each fallback temperature (openai-whisper); the best one is kept.
    best_of: int = 5
    # The fallback ladder, tried in order while a window fails the two checks below; 0.0 is beam
    # search. openai-whisper samples at the others (seeded); faster-whisper retries greedily
    # without repeating itself instead, as CTranslate2 cannot seed its sampler per call.
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    # Seed of every random draw, so the same audio always gives the same text.
    seed: int = 0
    # Language probability under which a repeating window ends the ladder at once: the model
    # does not know the language, and more rungs only cost time (see LANGUAGE_UNCERTAIN_BELOW).
    early_stop_below: float = 0.5
    # New tokens a window may take per second of its audio (timestamps included): fast speech
    # in a dense script needs about 15, a repetition loop would take all of Whisper's 448.
    max_tokens_per_second: float = 24.0
    # gzip compression ratio of a window's text above which it counts as repeating itself.
    compression_ratio_threshold: float = 2.4
    # Mean token log probability below which a window's text counts as unlikely.
    log_prob_threshold: float | None = -1.0
    # No-speech probability above which an unlikely window counts as silence and is skipped.
    no_speech_threshold: float | None = 0.6
    # Whether a window sees the previous window's text: off, so one hallucination cannot spread.
    condition_on_previous_text: bool = False
    # Seconds of silence around which hallucinated words are skipped (with word timestamps only).
    hallucination_silence_threshold: float | None = 2.0
    # Longest window when a recording is cut at its pauses; the windows are decoded on their own,
    # side by side on a CPU's cores. Whisper base drops words at the end of a window filled to 30 s
    # (speech/windows.py). None: Whisper's own 30 s windows one after another, each starting at
    # the last whole segment of the one before (some audio is decoded twice).
    pause_windows: float | None = 24.0

    def for_translation(self) -> DecodingOptions:
        """Translation is scored low whatever its quality, so only repetition makes it retry
        (once); silence and hallucination checks were done when the speech was transcribed.

        English needs fewer tokens than the speech it comes from: every English line of the test
        and benchmark recordings took 4 to 7 tokens a second of its window (10 for a 0.7 s
        question), so 12 leaves room while a loop on speech the model cannot follow stops at half
        the transcription budget (the synthetic Hindi: 3.2 s of 6.8 s went to one such loop)."""
        return replace(
            self,
            max_tokens_per_second=TRANSLATION_TOKENS_PER_SECOND,
            temperatures=(0.0, 0.5),
            beam_below=None,  # scored low whatever its quality: greedy would always be redone
            log_prob_threshold=None,
            no_speech_threshold=None,
            hallucination_silence_threshold=None,
        )


class SpeechEngine(Protocol):
    name: str
    model: str
    device: str
    compute_type: str
    options: DecodingOptions

    def transcribe(
        self,
        audio: np.ndarray,
        language: str | None = None,
        task: str = "transcribe",
        prompt: str = "",
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Segments (with word timestamps) stream out as they are decoded. ``prompt``: the text
        said just before ``audio`` (Whisper's initial prompt), when it is a part of a story."""
        ...

    def translate(self, audio: np.ndarray, language: str) -> list[Segment]:
        """English segments for speech in ``language``, timed from the start of ``audio``;
        decoded window by window (30 s each), one encoder pass per window."""
        ...


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
