"""A recording cut at pauses into windows Whisper decodes one at a time, each on its own.

Whisper hears 30 s at once. Cut blindly every 30 s, a word can be split in two and the next
window has to start again from the last whole segment (decoding part of the audio twice); cut at
pauses, every window ends between words and is decoded exactly once. With no text carried from
one window to the next (``DecodingOptions.condition_on_previous_text``), the windows do not
depend on each other, so they can be decoded at the same time on different cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Window:
    """A span of the recording decoded as one Whisper window."""

    start: int  # first sample
    end: int  # one past the last sample

    @property
    def offset(self) -> float:
        """Seconds from the start of the recording."""
        return self.start / SAMPLE_RATE

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE


def plan_windows(audio: np.ndarray, max_seconds: float, gap: float | None) -> list[Window]:
    """Windows of at most ``max_seconds`` cut at the pauses Silero VAD hears. Silence outside
    speech is left out, and a pause of ``gap`` seconds or more always ends a window, so no words
    are hallucinated in a long silence (the same rule as the torch-batched engine). Speech longer
    than a window without a pause is cut at its quietest moment."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    longest = int(max_seconds * SAMPLE_RATE)
    options = VadOptions(
        max_speech_duration_s=max_seconds - 1,  # leaves room for the padding on both sides
        speech_pad_ms=400,
        min_silence_duration_ms=160,
    )
    gap_samples = float("inf") if gap is None else gap * SAMPLE_RATE
    windows: list[Window] = []
    for chunk in get_speech_timestamps(audio, options):
        start, end = max(0, chunk["start"]), min(len(audio), chunk["end"])
        last = windows[-1] if windows else None
        if last and end - last.start <= longest and start - last.end < gap_samples:
            windows[-1] = Window(last.start, end)
        else:
            windows.append(Window(start, min(end, start + longest)))
    return windows
