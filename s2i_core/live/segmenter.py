"""Speech cut at pauses while it is still being heard: Silero VAD, fed as the audio arrives.

``PauseSegmenter.feed`` takes 16 kHz float32 audio in any chunk sizes and returns the ``Cut``\\ s
that became certain: a stretch of speech followed by a pause. A short pause ("short") may end a
sentence or only a breath, so the listener transcribes and decides from the punctuation; a long
one ("long") ends whatever was being said; speech that runs on past ``max_speech_s`` is cut at its
quietest moment ("forced"); ``finish`` cuts what is left ("end"). Speech shorter than
``min_speech_s`` (a cough, a click, a chair) is left out, and so is silence and steady noise.

The speech probabilities are Silero VAD's own, from the ONNX model faster-whisper ships: the
model's state is carried from one chunk to the next, so streamed audio gets the probabilities a
whole recording would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
WINDOW = 512  # samples per VAD step (32 ms), Silero's size at 16 kHz
CONTEXT = 64  # samples of the previous step the model sees with each step
SECONDS_PER_WINDOW = WINDOW / SAMPLE_RATE


@dataclass(frozen=True)
class SegmenterOptions:
    """Where speech is cut. Defaults tuned on the benchmark recordings (bench/clips) and the test
    narrations: sentence pauses there are 0.32-0.51 s, comma pauses 0.13-0.29 s."""

    # Speech probability above which a step is speech (Silero's own default).
    threshold: float = 0.5
    # Once in speech, a step stays speech down to this probability (no cut inside a soft word).
    neg_threshold: float = 0.35
    # Silence after speech that may end a sentence: the listener transcribes what is pending and
    # keeps it as a sentence when Whisper ends it with punctuation.
    short_pause_s: float = 0.3
    # Silence that ends a sentence whatever Whisper heard: the teacher has stopped talking.
    long_pause_s: float = 1.0
    # Speech shorter than this, with silence around it, is noise: a cough, a click, a chair.
    min_speech_s: float = 0.25
    # Speech without a pause this long is cut at its quietest moment (Whisper hears 30 s at most).
    max_speech_s: float = 25.0
    # Audio kept on each side of the speech, so the first and last sounds are whole.
    pad_s: float = 0.2


@dataclass(frozen=True)
class Cut:
    """A stretch of speech, in seconds from the start of the recording, and what ended it."""

    start: float
    end: float
    pause: str  # "short" | "long" | "forced" | "end"

    @property
    def ends_sentence(self) -> bool:
        """Whatever was heard ends here (else the punctuation decides)."""
        return self.pause != "short"


SpeechProbability = Callable[[np.ndarray], np.ndarray]  # [steps, CONTEXT + WINDOW] -> [steps]


class SileroStream:
    """Silero VAD speech probabilities, one per WINDOW samples, with the model's state carried
    across calls (faster-whisper's SileroVADModel runs a whole recording in one call)."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self._h = np.zeros((1, 1, 128), dtype="float32")
        self._c = np.zeros((1, 1, 128), dtype="float32")

    def __call__(self, steps: np.ndarray) -> np.ndarray:
        output, self._h, self._c = self._session.run(
            None, {"input": steps.astype("float32"), "h": self._h, "c": self._c}
        )
        return np.asarray(output).reshape(-1)


class PauseSegmenter:
    """Feed audio as it arrives; get back the speech cuts that became certain."""

    def __init__(
        self,
        options: SegmenterOptions | None = None,
        probability: SpeechProbability | None = None,
    ):
        self.options = options or SegmenterOptions()
        self._probability = probability or SileroStream()
        self._tail = np.zeros(0, dtype="float32")  # samples not yet a whole step
        self._context = np.zeros(CONTEXT, dtype="float32")
        self._step = 0  # steps heard so far
        self._speech_start: int | None = None  # first step of the speech being heard
        self._last_speech = -1  # last step that was speech
        self._cut_at: int | None = None  # the short pause of the current speech was reported
        self._probabilities: list[float] = []  # of the current speech, for a forced cut
        self._pending_long: tuple[float, float] | None = None  # a short cut awaiting its long

    @property
    def heard_s(self) -> float:
        return self._step * SECONDS_PER_WINDOW

    def feed(self, samples: np.ndarray) -> list[Cut]:
        audio = np.concatenate([self._tail, np.asarray(samples, dtype="float32").reshape(-1)])
        whole = len(audio) // WINDOW * WINDOW
        self._tail = audio[whole:]
        if not whole:
            return []
        windows = audio[:whole].reshape(-1, WINDOW)
        contexts = np.vstack([self._context, windows[:-1, -CONTEXT:]])
        self._context = windows[-1, -CONTEXT:].copy()
        probabilities = self._probability(np.hstack([contexts, windows]))
        cuts: list[Cut] = []
        for p in probabilities:
            cuts += self._step_with(float(p))
        return cuts

    def finish(self) -> list[Cut]:
        """The end of the recording: what was being said is cut here."""
        cuts: list[Cut] = []
        if self._speech_start is not None and self._long_enough(self._last_speech):
            cuts.append(self._cut(self._speech_start, self._last_speech, "end"))
        elif self._pending_long is not None:  # already cut at its short pause: now it ends
            cuts.append(Cut(*self._pending_long, "long"))
        self._speech_start, self._pending_long = None, None
        return cuts

    # --- one step --------------------------------------------------------------------------------
    def _step_with(self, p: float) -> list[Cut]:
        step, options = self._step, self.options
        self._step += 1
        speaking = self._speech_start is not None and self._cut_at is None
        is_speech = p >= options.threshold or (speaking and p >= options.neg_threshold)
        if is_speech:
            return self._speech(step, p)
        if self._speech_start is None:
            return self._silence(step)
        silence = (step - self._last_speech) * SECONDS_PER_WINDOW
        self._probabilities.append(p)
        if self._cut_at is None and silence >= options.short_pause_s:
            self._cut_at = step
            if not self._long_enough(self._last_speech):  # noise: forget it
                self._speech_start, self._cut_at, self._probabilities = None, None, []
                return []
            cut = self._cut(self._speech_start, self._last_speech, "short")
            self._pending_long = (cut.start, cut.end)
            self._speech_start, self._probabilities = None, []
            return [cut]
        return []

    def _speech(self, step: int, p: float) -> list[Cut]:
        cuts: list[Cut] = []
        if self._speech_start is None:
            if self._pending_long is not None:  # speech again before the pause grew long
                self._pending_long = None
            self._speech_start, self._probabilities = step, []
        self._cut_at = None
        self._last_speech = step
        self._probabilities.append(p)
        if (step - self._speech_start + 1) * SECONDS_PER_WINDOW >= self.options.max_speech_s:
            cuts.append(self._forced_cut())
        return cuts

    def _silence(self, step: int) -> list[Cut]:
        if self._pending_long is None:
            return []
        silence = (step - self._last_speech) * SECONDS_PER_WINDOW
        if silence < self.options.long_pause_s:
            return []
        cut, self._pending_long = Cut(*self._pending_long, "long"), None
        return [cut]

    def _forced_cut(self) -> Cut:
        """Cut a run-on at its quietest step in its second half; the rest goes on as new speech."""
        start = self._speech_start
        assert start is not None
        later = self._probabilities[len(self._probabilities) // 2 :][::-1]
        quietest = len(self._probabilities) - 1 - int(np.argmin(later))  # the latest, on a tie
        cut = self._cut(start, start + quietest, "forced", pad_end=False)
        self._speech_start = start + quietest + 1
        self._probabilities = self._probabilities[quietest + 1 :]
        return cut

    def _long_enough(self, last: int) -> bool:
        assert self._speech_start is not None
        return (last - self._speech_start + 1) * SECONDS_PER_WINDOW >= self.options.min_speech_s

    def _cut(self, first: int, last: int, pause: str, pad_end: bool = True) -> Cut:
        pad = self.options.pad_s
        start = max(0.0, first * SECONDS_PER_WINDOW - pad)
        end = (last + 1) * SECONDS_PER_WINDOW + (pad if pad_end else 0.0)
        return Cut(round(start, 3), round(min(end, self.heard_s), 3), pause)
