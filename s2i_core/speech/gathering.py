"""Transcriptions asked at the same time, gathered into one batch: the school's one GPU.

The speech worker runs up to K transcription jobs at once (S2I_SPEECH_BATCH), each still its own
job with its own progress, lease, cancellation and failure. Each asks ``GatheringEngine.gather``
for its narration and waits; one dispatcher thread takes what is waiting, up to K narrations,
runs them together (many.transcribe_many) and hands each job its own answer. While a batch runs,
new narrations wait for the next one, so a busy GPU always decodes full batches and an idle one
starts at once (after ``linger``, for narrations arriving together to share a batch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np

from .base import Segment, SpeechEngine, TranscriptionInfo
from .batch import Heard, Narration

# The job asking, in the thread that runs it (jobs/runtime.JobContext): its cancellation, and
# the call that raises the job's own Stop once it is cancelled.
ASKING_JOB: ContextVar[tuple[threading.Event, Callable[[], None]] | None] = ContextVar(
    "asking_job", default=None
)
LINGER_S = 0.25  # how long an idle GPU waits for narrations arriving together (at most 4x)


@dataclass(eq=False)
class Ticket:
    """One narration waiting for its batch; ``done`` is set once ``heard`` holds its answer."""

    narration: Narration
    cancelled: threading.Event | None = None  # set: the job was cancelled before its batch ran
    asked: float = field(default_factory=time.perf_counter)
    done: threading.Event = field(default_factory=threading.Event)
    heard: Heard | None = None
    batch: int = 0  # how many narrations its batch held (0: it never ran)
    answered: float = 0.0  # perf_counter when ``heard`` came (its wait: answered - asked)

    @property
    def withdrawn(self) -> bool:
        return self.cancelled is not None and self.cancelled.is_set()


class GatheringEngine:
    """A ``SpeechEngine`` whose concurrent transcriptions share batches of up to ``size``;
    everything else (translation, names, the device) is the wrapped engine's."""

    def __init__(self, engine: SpeechEngine, size: int, linger: float = LINGER_S) -> None:
        self.engine, self.size, self.linger = engine, max(1, size), linger
        self._waiting: list[Ticket] = []
        self._changed = threading.Condition()
        self._dispatcher = threading.Thread(target=self._serve, name="speech-batch", daemon=True)
        self._dispatcher.start()
        self.batches: list[int] = []  # sizes of the batches run so far (bench, tests)
        self.stats: list[dict] = []  # each batch's stage times (engine.last_batch), in order

    @property
    def waiting(self) -> int:
        """Narrations waiting for a batch now."""
        with self._changed:
            return len(self._waiting)

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    def transcribe(
        self,
        audio: np.ndarray,
        language: str | None = None,
        task: str = "transcribe",
        prompt: str = "",
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """As the engine's ``transcribe``, in whichever batch comes next (``prompt`` is unused:
        the batched engine decodes windows side by side). A job cancelled before its batch
        runs leaves it, with its own Stop."""
        job = ASKING_JOB.get()
        ticket = self.gather(Narration(audio, language, task), job[0] if job else None)
        if ticket.heard is None and job:
            job[1]()  # the job's Stop
        if ticket.heard is None:
            raise RuntimeError("the transcription was withdrawn before its batch ran")
        return ticket.heard.unwrap()

    def gather(self, narration: Narration, cancelled: threading.Event | None = None) -> Ticket:
        """Wait for ``narration``'s batch to run and return its ticket (``heard`` is None when
        ``cancelled`` was set before the batch took it)."""
        ticket = self.submit(narration, cancelled)
        while not ticket.done.wait(0.5):
            if ticket.withdrawn:
                with self._changed:
                    if ticket in self._waiting:
                        self._waiting.remove(ticket)
                        ticket.done.set()
        return ticket

    def submit(self, narration: Narration, cancelled: threading.Event | None = None) -> Ticket:
        """Queue ``narration`` for the next batch without waiting (``ticket.done`` says when)."""
        ticket = Ticket(narration, cancelled)
        with self._changed:
            self._waiting.append(ticket)
            self._changed.notify_all()
        return ticket

    def _serve(self) -> None:
        from .many import transcribe_many  # torch: imported once a batching engine is loaded

        while True:
            tickets = self._next_batch()
            try:
                answers = transcribe_many(self.engine, [t.narration for t in tickets])
            except Exception as error:  # each waiting job hears why
                answers = [Heard(error=error) for _ in tickets]
            self.stats.append(dict(getattr(self.engine, "last_batch", {})))
            self.batches.append(len(tickets))
            answered = time.perf_counter()
            for ticket, heard in zip(tickets, answers, strict=True):
                ticket.heard, ticket.batch, ticket.answered = heard, len(tickets), answered
                ticket.done.set()

    def _next_batch(self) -> list[Ticket]:
        """Up to ``size`` waiting tickets, once ``size`` are waiting or the newest has waited
        ``linger`` seconds with no other arriving; cancelled ones are dropped on the way."""
        with self._changed:
            while True:
                for ticket in [t for t in self._waiting if t.withdrawn]:
                    self._waiting.remove(ticket)
                    ticket.done.set()
                if len(self._waiting) >= self.size:
                    break
                if self._waiting:
                    asked = [t.asked for t in self._waiting]
                    # the newest waited ``linger`` alone, or the oldest four times that
                    due = min(max(asked) + self.linger, min(asked) + 4 * self.linger)
                    left = due - time.perf_counter()
                    if left <= 0:
                        break
                    self._changed.wait(left)
                else:
                    self._changed.wait()
            tickets, self._waiting = self._waiting[: self.size], self._waiting[self.size :]
            return tickets


_gatherers: dict[int, GatheringEngine] = {}
_lock = threading.Lock()


def gathering(engine: SpeechEngine, size: int) -> SpeechEngine:
    """``engine`` with its transcriptions gathered into batches of up to ``size`` when it can
    decode several narrations together (the batched torch engine); else ``engine`` itself.
    One gatherer per engine, so every job of a process shares its batches."""
    if size <= 1 or getattr(engine, "name", "") != "torch-batched":
        return engine
    with _lock:
        if id(engine) not in _gatherers:
            _gatherers[id(engine)] = GatheringEngine(engine, size)
        return _gatherers[id(engine)]
