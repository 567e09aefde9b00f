"""The live narration on disk, written as it streams: a 16 kHz mono 16-bit WAV in the story's
media folder, flushed chunk by chunk, so a dropped connection, a closed tab or a crash keeps
every sample that arrived.

While it grows, its header gives the "unknown length" sizes (0xFFFFFFFF) that FFmpeg reads to the
end of the file; ``close`` (or ``repair``, after a crash) writes the real sizes.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import numpy as np

from .segmenter import SAMPLE_RATE

UNKNOWN = 0xFFFFFFFF
HEADER_BYTES = 44
NAME = "narration.wav"
# Each chunk is flushed to the system at once (an app crash loses nothing); the disk is made to
# hold it about this often, apart from the connection: on a busy disk a sync per 100 ms chunk
# held the audio back.
SYNC_EVERY_S = 1.0


def wav_header(data_bytes: int | None) -> bytes:
    """A PCM WAV header for ``data_bytes`` of 16 kHz mono 16-bit samples (None: still growing)."""
    riff = UNKNOWN if data_bytes is None else 36 + data_bytes
    data = UNKNOWN if data_bytes is None else data_bytes
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
    return b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", data)


def to_pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def from_pcm(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype("float32") / 32768.0


class LiveRecording:
    """Appends PCM to the WAV file and keeps the samples in memory for the listener."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "wb")  # noqa: SIM115 - open for the whole recording
        self._file.write(wav_header(None))
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._samples = np.zeros(0, dtype="float32")  # joined lazily from the chunks
        self.count = 0  # samples written
        self._synced = time.monotonic()

    @property
    def seconds(self) -> float:
        return self.count / SAMPLE_RATE

    def append(self, pcm: bytes) -> int:
        """Write 16-bit little-endian samples; returns the number of samples kept so far."""
        pcm = pcm[: len(pcm) // 2 * 2]
        with self._lock:
            if self._file.closed:
                return self.count
            self._file.write(pcm)
            self._file.flush()  # in the system's hands: an app that crashes now keeps it
            self._chunks.append(from_pcm(pcm))
            self.count += len(pcm) // 2
            return self.count

    def sync(self, every_s: float = SYNC_EVERY_S) -> None:
        """Make the disk hold what was written (a machine that loses power keeps it too), at
        most every ``every_s``: called by the listener, never by the connection, which must
        not wait for a busy disk."""
        with self._lock:
            if self._file.closed or time.monotonic() - self._synced < every_s:
                return
            fileno = self._file.fileno()
        os.fsync(fileno)
        self._synced = time.monotonic()

    def samples(self, start: float = 0.0, end: float | None = None) -> np.ndarray:
        """The recording between two times (seconds), as float32."""
        with self._lock:
            if self._chunks:
                self._samples = np.concatenate([self._samples, *self._chunks])
                self._chunks = []
            whole = self._samples
        last = len(whole) if end is None else int(end * SAMPLE_RATE)
        return whole[max(0, int(start * SAMPLE_RATE)) : last]

    def close(self) -> None:
        with self._lock:
            if self._file.closed:
                return
            os.fsync(self._file.fileno())
            self._file.close()
        repair(self.path)


def repair(path: Path) -> float:
    """Write the real sizes into a live recording's header (after ``close`` or a crash: the
    samples written are all there). Returns its length in seconds."""
    size = path.stat().st_size
    data = max(0, size - HEADER_BYTES) // 2 * 2
    with open(path, "r+b") as file:
        file.write(wav_header(data))
        file.truncate(HEADER_BYTES + data)
    return data / 2 / SAMPLE_RATE
