"""What a batch of narrations is asked and what each comes to (speech/many.py runs the batch,
speech/gathering.py gathers it from the jobs asking)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .base import Segment, TranscriptionInfo


@dataclass(frozen=True)
class Narration:
    """One transcription asked of a batch."""

    audio: np.ndarray  # 16 kHz mono samples
    language: str | None = None  # a Whisper code, or None: detected from its first window
    task: str = "transcribe"  # or "translate" (to English)


@dataclass
class Heard:
    """What one narration of a batch came to: its segments and info, or the error it alone met."""

    segments: list[Segment] = field(default_factory=list)
    info: TranscriptionInfo | None = None
    error: BaseException | None = None

    def unwrap(self) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """The engine's ``transcribe`` answer, or the narration's error raised."""
        if self.error is not None:
            raise self.error
        assert self.info is not None
        return iter(self.segments), self.info
