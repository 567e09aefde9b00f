"""Read a recording or an uploaded file into 16 kHz mono float32 samples, with PyAV (no ffmpeg
executable needed), refusing bad input early with an error a teacher can act on."""

from __future__ import annotations

import io
import math
import os
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from .errors import (
    AudioTooLargeError,
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    NoSpeechError,
    NotAudioError,
)
from .i18n import msg
from .settings import Settings

SAMPLE_RATE = 16000
MIN_SECONDS = 0.1
# Loudest 50 ms window quieter than -50 dBFS: nothing was said. Whispered speech near a laptop mic
# is still around -35 dBFS, so this only refuses true silence or a muted microphone.
SILENCE_RMS = 10 ** (-50 / 20)
WINDOW = SAMPLE_RATE // 20
ACCEPTED = msg("Record again or upload a WAV, MP3, M4A, OGG, WEBM or FLAC file.")

# Containers PyAV names with a list ("mov,mp4,m4a,3gp,3g2,mj2"), reduced to one short name.
_SHORT_NAMES = {"mov": "mp4", "mp4": "mp4", "m4a": "mp4", "matroska": "webm", "webm": "webm"}
# What browsers play in an <audio> element: container -> (codecs, file extension, MIME type).
_BROWSER_PLAYABLE = {
    "wav": ({"pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"}, "wav", "audio/wav"),
    "mp3": ({"mp3", "mp3float"}, "mp3", "audio/mpeg"),
    "mp4": ({"aac", "mp3", "mp3float", "opus", "flac"}, "m4a", "audio/mp4"),
    "aac": ({"aac"}, "aac", "audio/aac"),
    "ogg": ({"opus", "vorbis", "flac"}, "ogg", "audio/ogg"),
    "webm": ({"opus", "vorbis"}, "webm", "audio/webm"),
    "flac": ({"flac"}, "flac", "audio/flac"),
}
# Header-given durations we trust to spot a file cut short (MP3's is only a bitrate estimate).
_EXACT_DURATION = {"wav", "flac", "mp4"}
# First bytes of audio containers: a file that starts like this but will not open is damaged.
_AUDIO_MAGIC = (b"RIFF", b"ID3", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3", b"FORM", b"#!AMR")
_AV_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError, RuntimeError)


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    duration: float  # seconds
    format: str  # container: wav, mp3, mp4, ogg, webm, flac, ...
    sample_rate: int = SAMPLE_RATE
    track: int = 0  # which of the file's sound tracks this is (0: the first)


def decode_audio(source: str | Path | bytes, settings: Settings) -> DecodedAudio:
    """Decode any common audio file to 16 kHz mono float32, checking limits before the work."""
    size = len(source) if isinstance(source, bytes | bytearray) else os.stat(source).st_size
    if size > settings.max_audio_bytes:
        raise AudioTooLargeError(
            msg(
                "This file is {size} MB; the limit is {limit} MB. Record a "
                "shorter story or upload a compressed file such as MP3 or M4A.",
                size=f"{size / 1_048_576:.1f}",
                limit=f"{settings.max_audio_mb:g}",
            )
        )
    if size == 0:
        raise EmptyAudioError(
            msg("The recording is empty. Record again and speak into the microphone.")
        )
    with _open(source) as container:
        tracks = _track_order(container)
    silent: list[int] = []
    for track in tracks:  # the default track first, then the others: the first with sound wins
        decoded = _decode_track(source, track, settings, several=len(tracks) > 1)
        if decoded is not None:
            return decoded
        silent.append(track)
    if len(tracks) == 1:
        raise NoSpeechError(
            msg(
                "The recording is silent, so there is nothing to turn into pictures. "
                "Check that the right microphone is selected and not muted, then record "
                "again."
            )
        )
    raise NoSpeechError(
        msg(
            "Every sound track of this file is silent (tried {track_names}), so "
            "there is nothing to turn into pictures. Check the recording, then "
            "record again.",
            track_names=_track_names(source, silent),
        )
    )


def _decode_track(
    source: str | Path | bytes, track: int, settings: Settings, several: bool
) -> DecodedAudio | None:
    """The track decoded, or None when it is silent (or empty, among several tracks)."""
    with _open(source) as container:
        stream = _audio_stream(container, track)
        fmt = short_format(container)
        expected = _header_duration(container, stream)
        if fmt == "wav":  # FFmpeg trusts the file size over a WAV header; we want the header's
            expected = _wav_declared_seconds(_head(source)) or expected
        if expected is not None and expected > settings.max_audio_seconds:
            raise _too_long(settings.max_audio_seconds, expected)
        samples = _decode_samples(container, stream, settings.max_audio_seconds)
    duration = len(samples) / SAMPLE_RATE
    if duration < MIN_SECONDS:
        if several:
            return None
        raise EmptyAudioError(
            msg(
                "The recording has no sound in it (it is shorter than a tenth of a "
                "second). Record again and speak into the microphone."
            )
        )
    if expected and fmt in _EXACT_DURATION and expected - duration > max(0.5, 0.1 * expected):
        raise CorruptAudioError(
            msg(
                "This file is cut off: it should last {expected} s but only {duration} s "
                "could be read. Upload the complete file or record again.",
                expected=f"{expected:.1f}",
                duration=f"{duration:.1f}",
            )
        )
    if loudest_rms(samples) < SILENCE_RMS:
        return None
    return DecodedAudio(samples=samples, duration=duration, format=fmt, track=track)


def _track_order(container: av.container.InputContainer) -> list[int]:
    """Sound tracks to try, as positions among the file's audio streams: default ones first."""
    streams = container.streams.audio
    if not streams:
        raise NotAudioError(
            msg(
                "This file is not audio: {what_it_is}. {accepted}",
                what_it_is=_what_it_is(container),
                accepted=ACCEPTED,
            )
        )
    default = [i for i, s in enumerate(streams) if s.disposition & av.stream.Disposition.default]
    return default + [i for i in range(len(streams)) if i not in default]


def _track_names(source: str | Path | bytes, tracks: list[int]) -> str:
    with _open(source) as container:
        streams = container.streams.audio
        names = []
        for track in tracks:
            title = (streams[track].metadata or {}).get("title", "")
            default = streams[track].disposition & av.stream.Disposition.default
            names.append(
                f"track {track + 1}"
                + (f" “{title}”" if title else "")
                + (" (default)" if default else "")
            )
    return ", ".join(names)


def probe_format(data: bytes) -> str:
    """The short container name of ``data`` ("wav", "mp3", "mp4", "ogg", "webm", "flac", ...)."""
    with _open(data) as container:
        _audio_stream(container)
        return short_format(container)


def narration_for_replay(
    source: bytes, decoded: DecodedAudio | None = None
) -> tuple[bytes, str, str]:
    """(bytes, extension, MIME type) of the narration in a form every browser plays: sound only.

    A browser-playable file with nothing but its sound is kept byte for byte; the sound track of
    a video (or of a file with several tracks) is copied out on its own; anything else becomes a
    16 kHz mono WAV, made from ``decoded`` when given (so the file is not decoded twice).
    """
    track = decoded.track if decoded is not None else None
    with _open(source) as container:
        track = _track_order(container)[0] if track is None else track
        stream = _audio_stream(container, track)
        playable = _BROWSER_PLAYABLE.get(short_format(container))
        if playable and stream.codec_context.name in playable[0]:
            if len(container.streams) == 1:
                return bytes(source), playable[1], playable[2]
            sound = _sound_only(container, stream, short_format(container))
            if sound is not None:
                return sound, playable[1], playable[2]
        if decoded is None:
            decoded = DecodedAudio(_decode_samples(container, stream, math.inf), 0.0, "")
    return wav_bytes(decoded.samples), "wav", "audio/wav"


_MUXERS = {"mp4": "ipod", "webm": "webm", "ogg": "ogg", "mp3": "mp3", "flac": "flac", "aac": "adts"}


def has_video(source: bytes) -> bool:
    """Whether the file carries more than its sound (a picture track, or several sound tracks)."""
    with _open(source) as container:
        return len(container.streams) > 1


def _sound_only(container, stream, fmt: str) -> bytes | None:
    """The packets of one sound track in a container of their own, not re-encoded; None if the
    container cannot take them (the caller falls back to a WAV)."""
    muxer = _MUXERS.get(fmt)
    if muxer is None:
        return None
    buffer = io.BytesIO()
    try:
        with av.open(buffer, "w", format=muxer) as output:
            copy = output.add_stream_from_template(stream)
            for packet in container.demux(stream):
                if packet.dts is None:  # the flush packet at the end
                    continue
                packet.stream = copy
                output.mux(packet)
    except _AV_ERRORS:
        return None
    return buffer.getvalue()


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def loudest_rms(samples: np.ndarray) -> float:
    """RMS of the loudest 50 ms window, DC offset removed (a cheap mic's offset is not sound)."""
    usable = len(samples) // WINDOW * WINDOW
    windows = samples[:usable].reshape(-1, WINDOW) if usable else samples.reshape(1, -1)
    windows = windows - windows.mean(axis=1, keepdims=True)
    return float(np.sqrt((windows.astype(np.float64) ** 2).mean(axis=1)).max())


def short_format(container: av.container.InputContainer) -> str:
    names = container.format.name.split(",")
    return next((_SHORT_NAMES[n] for n in names if n in _SHORT_NAMES), names[0])


def _open(source: str | Path | bytes) -> av.container.InputContainer:
    data = source if isinstance(source, bytes | bytearray) else None
    if data is None and not os.access(source, os.R_OK):
        raise NotAudioError(
            msg(
                "{name} cannot be read (permission denied). Upload a copy this app may "
                "read, or record again.",
                name=Path(source).name,
            )
        )
    try:
        target = io.BytesIO(data) if data is not None else str(source)
        return av.open(target, mode="r", metadata_errors="ignore")
    except _AV_ERRORS as exc:
        head = _head(source, 12)
        if _looks_like_audio(head):
            raise CorruptAudioError(
                msg(
                    "This audio file is damaged and cannot be read ({reason}). {accepted}",
                    reason=_reason(exc),
                    accepted=ACCEPTED,
                )
            ) from exc
        raise NotAudioError(
            msg(
                "This file is not audio we can read ({reason}). {accepted}",
                reason=_reason(exc),
                accepted=ACCEPTED,
            )
        ) from exc


def _audio_stream(
    container: av.container.InputContainer, track: int = 0
) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise NotAudioError(
            msg(
                "This file is not audio: {what_it_is}. {accepted}",
                what_it_is=_what_it_is(container),
                accepted=ACCEPTED,
            )
        )
    stream = container.streams.audio[track]
    if stream.codec_context is None:  # FFmpeg found a sound track but no codec it can decode
        raise CorruptAudioError(
            msg(
                "This audio file is damaged: its sound format cannot be read. {accepted}",
                accepted=ACCEPTED,
            )
        )
    return stream


def _what_it_is(container: av.container.InputContainer) -> str:
    """In a teacher's words: a photo renamed .wav is a picture, not "piped png sequence"."""
    if not container.streams.video:
        return "it has no sound in it"
    name = container.format.name
    if name.endswith("_pipe") or name in ("image2", "gif", "apng"):
        return "it is a picture"
    return "it is a video with no sound"


def _header_duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _decode_samples(container, stream, max_seconds: float) -> np.ndarray:
    """Decode and resample packet by packet; stop as soon as the audio passes ``max_seconds``."""
    limit = max_seconds * SAMPLE_RATE
    chunks: list[np.ndarray] = []
    total = 0
    bad_packets = 0
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    try:
        for frame in _frames(container, stream):
            if frame is None:
                bad_packets += 1
                continue
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                total += out.samples
            if total > limit:
                raise _too_long(max_seconds, None)
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except _AV_ERRORS as exc:  # the container itself broke (not just one bad packet)
        raise CorruptAudioError(
            msg(
                "This audio file is damaged and cannot be read ({reason}). {accepted}",
                reason=_reason(exc),
                accepted=ACCEPTED,
            )
        ) from exc
    if not chunks and bad_packets:
        raise CorruptAudioError(
            msg(
                "This audio file is damaged: none of its {bad_packets} audio packets "
                "could be decoded. {accepted}",
                bad_packets=bad_packets,
                accepted=ACCEPTED,
            )
        )
    return np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, "f4")


def _frames(container, stream) -> Iterator[av.AudioFrame | None]:
    """Decoded frames, with None for a damaged packet (skipped, like browsers do)."""
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            yield None


def _too_long(limit: float, actual: float | None) -> AudioTooLongError:
    if actual is None:
        return AudioTooLongError(
            msg(
                "This recording is too long; stories can be at most {minutes}. "
                "Record a shorter story or split it in parts.",
                minutes=_minutes(limit),
            )
        )
    return AudioTooLongError(
        msg(
            "This recording is too long ({length}); stories can be at most {minutes}. "
            "Record a shorter story or split it in parts.",
            length=_minutes(actual),
            minutes=_minutes(limit),
        )
    )


def _minutes(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    if minutes and secs:
        return msg("{minutes} min {seconds} s", minutes=minutes, seconds=secs)
    return msg("{minutes} min", minutes=minutes) if minutes else msg("{seconds} s", seconds=secs)


def _looks_like_audio(head: bytes) -> bool:
    mpeg_frame = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    return head.startswith(_AUDIO_MAGIC) or mpeg_frame or head[4:8] == b"ftyp"


def _wav_declared_seconds(head: bytes) -> float | None:
    """Length a WAV header promises (data chunk size / byte rate); None for a streaming header."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt " and pos + 20 <= len(head):
            byte_rate = int.from_bytes(head[pos + 16 : pos + 20], "little")
        elif chunk == b"data":
            return size / byte_rate if byte_rate and size not in (0, 0xFFFFFFFF) else None
        pos += 8 + size + (size & 1)
    return None


def _head(source: str | Path | bytes, length: int = 65536) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source[:length])
    try:
        with open(source, "rb") as handle:
            return handle.read(length)
    except OSError:
        return b""


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else type(exc).__name__
