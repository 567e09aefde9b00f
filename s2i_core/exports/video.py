"""A narrated video: the teacher's recording as the soundtrack, each sentence's picture on screen
for exactly that sentence's time (the replay's timing, see timeline.py) with a gentle pan and
zoom, and the sentence beside it as a caption.

H.264 and AAC in MP4 (moov first, so a browser starts playing before the download ends), from
PyAV's bundled libx264 and aac encoders: no ffmpeg program is needed. Every shot's still parts
(background, caption, card) are drawn once; per video frame only the moving picture is resampled.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..errors import ExportPathError, NarrationMissingError, NothingToExportError
from ..i18n import export_locale, msg
from ..storage import Library, StoryRecord
from . import captions
from .fonts import font_set, missing_message, unprintable
from .timeline import Shot, story_shots
from .video_cards import card, page, title_banner, title_card
from .video_frames import Layout, Overlay, Planes, moving_picture, yuv420

log = logging.getLogger(__name__)
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
AUDIO_RATE = 48000
TITLE_LEAD = 1.0  # seconds of silence before the first sentence that get a title card of their own
TITLE_OVERLAY = 3.0  # otherwise the title lies over the first picture this long, then fades


@dataclass(frozen=True)
class VideoOptions:
    resolution: str = "720p"  # "720p" (1280×720) or "1080p" (1920×1080)
    fps: int = 25  # smooth enough for a slow pan; every extra frame costs encoding time
    crf: int = 23  # x264 quality: lower is sharper and larger (18 to 28 is sensible)
    preset: str = "veryfast"  # x264 speed against size; keeps a story faster than real time
    audio_bitrate: int = 128_000  # bits per second of the AAC soundtrack

    @property
    def size(self) -> tuple[int, int]:
        return RESOLUTIONS[self.resolution]


@dataclass(frozen=True)
class VideoSummary:
    path: Path
    duration: float  # seconds: the narration's length
    frames: int  # video frames written
    bytes: int
    missing: str = ""  # characters no font here has: drawn as empty boxes (see fonts.py)


def export_video(
    story: StoryRecord,
    library: Library,
    out: str | Path,
    options: VideoOptions | None = None,
    progress: Callable[[float], None] | None = None,
) -> VideoSummary:
    """Write ``story`` as an MP4 to ``out``; ``progress`` hears the fraction done (0 to 1).

    The file appears at ``out`` only when complete (written beside it, then renamed).
    """
    options = options or VideoOptions()
    if options.resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    if not story.frames:
        raise NothingToExportError(
            msg(
                "Story {id} has no sentences yet, so there is nothing to put in a video.",
                id=story.id,
            )
        )
    captions.require_shaping()
    if missing := unprintable(story):
        log.warning("Story %s: %s", story.id, missing_message(missing))
    narration = _narration(story, library)
    out = Path(out)
    part = _part_file(out)
    try:
        summary = _encode(story, library, narration, part, options, progress)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return VideoSummary(out, summary[0], summary[1], out.stat().st_size, missing)


def video_bytes(story: StoryRecord, library: Library, options: VideoOptions | None = None) -> bytes:
    """The video as bytes, for a download button."""
    with tempfile.TemporaryDirectory(prefix="s2i-video-") as folder:
        path = Path(folder) / "story.mp4"
        export_video(story, library, path, options)
        return path.read_bytes()


# --- sound -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Narration:
    """The recording, read twice: once here for its exact length, then streamed into the file,
    so a ten-minute story never sits in memory as raw sound."""

    path: Path
    samples: int  # at AUDIO_RATE

    def frames(self) -> Iterator[av.AudioFrame]:
        """48 kHz stereo frames, numbered in samples, ready for the AAC encoder."""
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        done = 0
        with av.open(str(self.path)) as container:
            for decoded in itertools.chain(container.decode(audio=0), [None]):  # None: flush
                if decoded is not None:
                    decoded.pts = None
                for frame in resampler.resample(decoded):
                    frame.pts, done = done, done + frame.samples
                    yield frame


def _narration(story: StoryRecord, library: Library) -> _Narration:
    path = story.narration_path and library.path(story.narration_path)
    if not path or not path.is_file():
        raise NarrationMissingError(
            msg(
                "Story {id} has no narration recording, and a narrated video needs one. "
                "Export it as a PDF instead, or record the story again.",
                id=story.id,
            )
        )
    try:
        samples = sum(frame.samples for frame in _Narration(path, 0).frames())
    except (av.FFmpegError, OSError, ValueError, IndexError) as error:
        raise NarrationMissingError(
            msg(
                "The narration of story {id} cannot be read ({error}). Record the story "
                "again to make a video of it.",
                id=story.id,
                error=error,
            )
        ) from error
    if not samples:
        raise NarrationMissingError(msg("The narration of story {id} holds no sound.", id=story.id))
    return _Narration(path, samples)


# --- the file ----------------------------------------------------------------------------------
def _part_file(out: Path) -> Path:
    """An empty file beside ``out``: proves the place is writable before minutes of work."""
    try:
        if out.is_dir():
            raise IsADirectoryError(f"{out} is a folder")
        handle, name = tempfile.mkstemp(
            prefix=f".{out.stem}.", suffix=".part.mp4.tmp", dir=out.parent
        )
        os.close(handle)
        return Path(name)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ExportPathError(
            msg(
                "Cannot write the video to {out} ({reason}). Choose a folder you can write to.",
                out=out,
                reason=reason,
            )
        ) from error


def _encode(story, library, narration, path, options, progress) -> tuple[float, int]:
    width, height = options.size
    duration = narration.samples / AUDIO_RATE
    total = max(1, round(duration * options.fps))
    shots = story_shots(story, library, total / options.fps, title_lead=TITLE_LEAD)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream(
            "libx264",
            rate=options.fps,
            options={
                "crf": str(options.crf),
                "preset": options.preset,
                "x264-params": "colorprim=bt709:transfer=bt709:colormatrix=bt709",
            },
        )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = options.fps * 4  # a keyframe every 4 s: quick seeking
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        audio.bit_rate = options.audio_bitrate
        sound = _Interleaver(container, audio, narration.frames())
        for index, picture in enumerate(_pictures(story, shots, options, total)):
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts = index
            container.mux(video.encode(frame))
            sound.up_to(index / options.fps + 1.0)  # a second ahead, as players read files
            if progress and index % options.fps == 0:
                progress(index / total)
        sound.up_to(math.inf)
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    if progress:
        progress(1.0)
    return duration, total


class _Interleaver:
    """Feeds the soundtrack into the file alongside the picture, a little at a time."""

    def __init__(self, container, stream, frames: Iterator[av.AudioFrame]):
        self.container, self.stream, self.frames = container, stream, frames
        self.pending = next(frames, None)

    def up_to(self, seconds: float) -> None:
        while self.pending is not None and self.pending.pts <= seconds * AUDIO_RATE:
            self.container.mux(self.stream.encode(self.pending))
            self.pending = next(self.frames, None)


def _pictures(story, shots: list[Shot], options: VideoOptions, total: int) -> Iterator[np.ndarray]:
    """Every video frame as a YUV 4:2:0 array (the encoder's own format), shot by shot. Without
    a title card of its own, the title lies over the first picture for its first seconds."""
    layout = Layout(*options.size, font_set(story.language), export_locale(story.language))
    frames = _shot_frames(story, shots, options, total, layout)
    if shots[0].frame is None:
        yield from frames
        return
    banner = Overlay(title_banner(story, layout), layout.banner_xy, layout)
    shown, fade = round(TITLE_OVERLAY * options.fps), options.fps // 2
    for index, frame in enumerate(frames):
        if index < shown:
            frame = banner.over(frame, min(1.0, (shown - index) / fade))
        yield frame


def _shot_frames(story, shots, options, total, layout) -> Iterator[np.ndarray]:
    for number, shot in enumerate(shots):
        first = math.ceil(round(shot.start * options.fps, 6))
        last = min(total, math.ceil(round(shot.end * options.fps, 6)))
        if last <= first:
            continue
        if shot.frame is None:
            still = yuv420(title_card(story, layout))
            for _ in range(first, last):
                yield still
            continue
        still_part = page(story, shot, layout)
        if shot.picture is None or (moving := moving_picture(shot, layout)) is None:
            card(still_part, shot, layout)
            still = yuv420(still_part)
            for _ in range(first, last):
                yield still
            continue
        planes = Planes(yuv420(still_part), layout)
        for index in range(first, last):
            t = (index / options.fps - shot.start) / max(shot.duration, 1e-6)
            yield planes.with_picture(moving.at(min(max(t, 0.0), 1.0), number))
