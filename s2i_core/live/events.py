"""What a live story tells its screens: an append-only list of JSON-ready events.

Every screen (the teacher's page, a projector, a tab that reconnects) reads the list from where
it stopped, so none misses one and a late one catches up.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..storage import FrameRecord

Event = dict[str, Any]


class EventLog:
    def __init__(self) -> None:
        self._events: list[Event] = []
        self._changed = threading.Condition()

    def add(self, kind: str, **data: Any) -> Event:
        event = {"type": kind, "at": time.monotonic(), **data}
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()
        return event

    def since(self, position: int, wait_s: float = 0.0) -> list[Event]:
        """The events after the first ``position``; waits up to ``wait_s`` for one."""
        with self._changed:
            if len(self._events) <= position and wait_s > 0:
                self._changed.wait(wait_s)
            return self._events[position:]

    def __len__(self) -> int:
        with self._changed:
            return len(self._events)

    def of_kind(self, kind: str) -> list[Event]:
        with self._changed:
            return [e for e in self._events if e["type"] == kind]


def frame_event(kind: str, frame: FrameRecord) -> Event:
    """A frame as screens show it: its sentence, its times and how its picture stands."""
    return {
        "frame_id": frame.id,
        "index": frame.index,
        "text": frame.text,
        "text_en": frame.text_en,
        "start": round(frame.start, 2),
        "end": round(frame.end, 2),
        "status": frame.status,
        "error": frame.error,
        "version": frame.attempts,
        "change": kind,
    }
