"""A narrated video: the teacher's recording as the soundtrack, each sentence's picture on screen
for exactly that sentence's time (the replay's timing, see timeline.py) with a gentle pan and
zoom, and the sentence beside it as a caption.

H.264 and AAC in MP4 (moov first, so a browser starts playing before the download ends), from
PyAV's bundled libx264 and aac encoders: no ffmpeg program is needed. Every shot's still parts
(background, caption, card) are drawn once; per video frame only the moving picture is resampled.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageOps

from ..errors import ExportPathError, NarrationMissingError, NothingToExportError
from ..languages import language_name
from ..storage import Library, StoryRecord
from . import captions
from .captions import clip_lines, draw_line, line_height, wrap
from .text import is_right_to_left
from .timeline import Shot, story_shots

COLORSPACE = "ITU709"  # HD video's colours (BT.709), also written into the stream
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
AUDIO_RATE = 48000
PAPER = (244, 239, 230)  # the replay's colours
CARD = (255, 251, 243)
LINE = (228, 220, 205)
INK = (43, 47, 54)
MUTED = (110, 104, 96)
ACCENT = (194, 65, 12)
MAX_ZOOM = 1.08  # the pan and zoom move at most this far over a shot...
ZOOM_PER_SECOND = 0.02  # ...and never faster than this, however short the sentence
TITLE_LEAD = 1.0  # seconds of silence before the first sentence that get a title card of their own
TITLE_OVERLAY = 3.0  # otherwise the title lies over the first picture this long, then fades
PAN_PATHS = ((1, 0.4), (-1, -0.3), (0.3, 1), (-0.4, -1))  # drift directions, shot after shot


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
            f"Story {story.id} has no sentences yet, so there is nothing to put in a video."
        )
    captions.require_shaping()
    narration = _narration(story, library)
    out = Path(out)
    part = _part_file(out)
    try:
        summary = _encode(story, library, narration, part, options, progress)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return VideoSummary(out, summary[0], summary[1], out.stat().st_size)


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
            f"Story {story.id} has no narration recording, and a narrated video needs one. "
            "Export it as a PDF instead, or record the story again."
        )
    try:
        samples = sum(frame.samples for frame in _Narration(path, 0).frames())
    except (av.FFmpegError, OSError, ValueError, IndexError) as error:
        raise NarrationMissingError(
            f"The narration of story {story.id} cannot be read ({error}). "
            "Record the story again to make a video of it."
        ) from error
    if not samples:
        raise NarrationMissingError(f"The narration of story {story.id} holds no sound.")
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
            f"Cannot write the video to {out} ({reason}). Choose a folder you can write to."
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
    layout = _Layout(*options.size)
    frames = _shot_frames(story, shots, options, total, layout)
    if shots[0].frame is None:
        yield from frames
        return
    banner = _Overlay(_title_banner(story, layout), layout.banner_xy, layout)
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
            still = _yuv420(_title_card(story, layout))
            for _ in range(first, last):
                yield still
            continue
        page = _page(story, shot, layout)
        if shot.picture is None or (moving := _moving_picture(shot, layout)) is None:
            _card(page, shot, layout)
            still = _yuv420(page)
            for _ in range(first, last):
                yield still
            continue
        planes = _Planes(_yuv420(page), layout)
        for index in range(first, last):
            t = (index / options.fps - shot.start) / max(shot.duration, 1e-6)
            yield planes.with_picture(moving.at(min(max(t, 0.0), 1.0), number))


def _yuv420(image: Image.Image) -> np.ndarray:
    frame = av.VideoFrame.from_image(image).reformat(format="yuv420p", dst_colorspace=COLORSPACE)
    return frame.to_ndarray()


# --- drawing -----------------------------------------------------------------------------------
class _Layout:
    """Where things go on a frame: the picture square on the left, the caption panel beside it."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.scale = height / 720
        self.margin = round(18 * self.scale) * 2  # even: the colour planes are half size
        self.box = height - 2 * self.margin
        self.box_xy = (self.margin, self.margin)
        self.panel = (self.margin * 2 + self.box, width - self.margin)
        self.radius = round(9 * self.scale) * 2
        self.mask = Image.new("L", (self.box, self.box), 0)
        ImageDraw.Draw(self.mask).rounded_rectangle(
            (0, 0, self.box - 1, self.box - 1), self.radius, fill=255
        )

    @property
    def banner_size(self) -> tuple[int, int]:
        return self.box - 2 * self.margin, round(156 * self.scale) // 2 * 2

    @property
    def banner_xy(self) -> tuple[int, int]:
        x, y = self.box_xy
        return x + self.margin, y + self.box - self.margin - self.banner_size[1]

    def corner_alpha(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """How much of each top-left corner pixel the rounded picture covers, per plane."""
        r = self.radius
        luma = np.asarray(self.mask.crop((0, 0, r, r)), dtype=np.float32) / 255
        chroma = np.asarray(
            self.mask.crop((0, 0, r, r)).resize((r // 2, r // 2), Image.Resampling.BOX),
            dtype=np.float32,
        )
        return luma, chroma / 255, chroma / 255

    def px(self, points: float) -> int:
        return max(8, round(points * self.scale))


class _Planes:
    """A frame's still part in YUV 4:2:0, into which each frame's view of the picture goes."""

    def __init__(self, page: np.ndarray, layout: _Layout):
        self.page, self.layout = page, layout
        self.corners = layout.corner_alpha()

    def with_picture(self, view: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        frame = self.page.copy()
        x, y = self.layout.box_xy
        planes = _plane_views(frame, self.layout, x, y)
        for (plane, left, top), pixels, alpha in zip(planes, view, self.corners, strict=True):
            side, r = pixels.shape[0], alpha.shape[0]
            region = plane[top : top + side, left : left + side]
            outside = [region[:r, :r], region[:r, -r:], region[-r:, :r], region[-r:, -r:]]
            kept = [corner.copy() for corner in outside]
            region[:] = pixels
            for corner, old, a in zip(outside, kept, _corner_flips(alpha), strict=True):
                corner[:] = (old * (1 - a) + corner * a + 0.5).astype(np.uint8)
        return frame


class _Overlay:
    """A partly transparent image laid over finished YUV frames at ``xy`` (even coordinates)."""

    def __init__(self, image: Image.Image, xy: tuple[int, int], layout: _Layout):
        self.xy, self.layout = xy, layout
        yuv = (
            av.VideoFrame.from_image(image.convert("RGB"))
            .reformat(format="yuv444p", dst_colorspace=COLORSPACE)
            .to_ndarray()
            .astype(np.float32)
        )
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255
        self.planes = [
            (yuv[0], alpha),
            (_half(yuv[1]), _half(alpha)),
            (_half(yuv[2]), _half(alpha)),
        ]

    def over(self, frame: np.ndarray, strength: float) -> np.ndarray:
        frame = frame.copy()  # still shots hand out one array for many frames
        for (plane, left, top), (pixels, alpha) in zip(
            _plane_views(frame, self.layout, *self.xy), self.planes, strict=True
        ):
            h, w = pixels.shape
            region = plane[top : top + h, left : left + w]
            a = alpha * strength
            region[:] = (region * (1 - a) + pixels * a + 0.5).astype(np.uint8)
        return frame


def _half(plane: np.ndarray) -> np.ndarray:
    """A plane at half width and height, each pixel the mean of four (the 4:2:0 colour grid)."""
    h, w = plane.shape[0] // 2 * 2, plane.shape[1] // 2 * 2
    return plane[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _plane_views(frame: np.ndarray, layout: _Layout, x: int, y: int) -> list:
    """(plane, left, top) of the Y, U and V planes of a YUV 4:2:0 frame, for a point (x, y)."""
    width, height = layout.width, layout.height
    return [
        (frame[:height], x, y),
        (frame[height : height * 5 // 4].reshape(height // 2, width // 2), x // 2, y // 2),
        (frame[height * 5 // 4 :].reshape(height // 2, width // 2), x // 2, y // 2),
    ]


def _corner_flips(alpha: np.ndarray) -> list[np.ndarray]:
    """The top-left corner's coverage, mirrored for the other three corners."""
    return [alpha, alpha[:, ::-1], alpha[::-1, :], alpha[::-1, ::-1]]


class _MovingPicture:
    """A picture cropped square and converted once, then framed a little differently each frame:
    each YUV plane is resampled on its own (the colour planes at half size), with subpixel
    offsets so a slow drift glides rather than steps."""

    def __init__(self, picture: Image.Image, side: int, duration: float):
        self.side = side
        self.zoom = 1 + min(MAX_ZOOM - 1, ZOOM_PER_SECOND * duration)
        self.source = math.ceil(side * self.zoom / 2) * 2
        square = ImageOps.fit(picture, (self.source, self.source), Image.Resampling.LANCZOS)
        yuv = (
            av.VideoFrame.from_image(square)
            .reformat(format="yuv444p", dst_colorspace=COLORSPACE)
            .to_ndarray()
        )
        half = (self.source // 2, self.source // 2)
        self.planes = [
            Image.fromarray(yuv[0]),
            Image.fromarray(yuv[1]).resize(half, Image.Resampling.BOX),
            Image.fromarray(yuv[2]).resize(half, Image.Resampling.BOX),
        ]

    def window(self, t: float, shot_number: int) -> tuple[float, float, float]:
        """(left, top, size) of the part of the source seen at ``t`` (0 to 1) through the shot."""
        eased = t * t * (3 - 2 * t)
        growing = shot_number % 2 == 0
        zoom = 1 + (self.zoom - 1) * (eased if growing else 1 - eased)
        size = self.source / zoom
        slack = (self.source - size) / 2
        dx, dy = PAN_PATHS[shot_number % len(PAN_PATHS)]
        return slack + dx * slack * (eased - 0.5), slack + dy * slack * (eased - 0.5), size

    def at(self, t: float, shot_number: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        left, top, size = self.window(t, shot_number)
        views = []
        for plane, scale in zip(self.planes, (1, 2, 2), strict=True):
            box = (left / scale, top / scale, (left + size) / scale, (top + size) / scale)
            out = (self.side // scale, self.side // scale)
            views.append(np.asarray(plane.resize(out, Image.Resampling.BILINEAR, box=box)))
        return tuple(views)


def _moving_picture(shot: Shot, layout: _Layout) -> _MovingPicture | None:
    try:
        with Image.open(shot.picture) as picture:
            return _MovingPicture(picture.convert("RGB"), layout.box, shot.duration)
    except (OSError, ValueError):  # unreadable picture: the frame shows its card instead
        return None


def _page(story: StoryRecord, shot: Shot, layout: _Layout) -> Image.Image:
    """The still part of a sentence's frames: the caption panel, with the story's title above."""
    page = Image.new("RGB", (layout.width, layout.height), PAPER)
    draw = ImageDraw.Draw(page)
    left, right = layout.panel
    top, bottom = layout.margin, layout.height - layout.margin
    header = layout.px(20)
    title = clip_lines(wrap(story.title.strip(), "B", header, right - left), 1)[0]
    draw_line(draw, title, layout.panel, top, "B", header, MUTED)
    counter = f"{shot.frame.index + 1} / {len(story.frames)}"
    draw_line(draw, counter, layout.panel, top + line_height(header), "", layout.px(18), MUTED)
    room_top = top + 3 * line_height(header)
    show_english = story.language.lower() not in ("", "en", "english")
    english = shot.frame.text_en.strip() if show_english else ""
    _caption(draw, shot.frame.text.strip(), english, layout, room_top, bottom)
    return page


def _caption(draw, text: str, english: str, layout: _Layout, top: int, bottom: int) -> None:
    """The sentence at the largest size that fits (the English line smaller, below), centred in
    the panel's height; cut with an ellipsis if even the smallest size does not fit."""
    left, right = layout.panel
    english = "" if english == text else english
    for points in (44, 40, 36, 32, 28, 24):
        size, small = layout.px(points), layout.px(points * 0.7)
        lines = wrap(text, "", size, right - left)
        extra = wrap(english, "I", small, right - left) if english else []
        height = len(lines) * line_height(size) + (
            len(extra) * line_height(small) + line_height(small) // 2 if extra else 0
        )
        if height <= bottom - top:
            break
    else:
        extra = clip_lines(extra, 2) if extra else []
        room = bottom - top - (len(extra) + 1) * line_height(small)
        lines = clip_lines(lines, max(1, room // line_height(size)))
        height = len(lines) * line_height(size) + len(extra) * line_height(small)
    y = top + max(0, (bottom - top - height) // 2)
    rtl = is_right_to_left(text)
    for line in lines:
        draw_line(draw, line, layout.panel, y, "", size, INK, rtl=rtl)
        y += line_height(size)
    y += line_height(small) // 2
    for line in extra:
        draw_line(draw, line, layout.panel, y, "I", small, MUTED)
        y += line_height(small)


def _card(page: Image.Image, shot: Shot, layout: _Layout) -> None:
    """The replay's card where a picture would be: "No picture yet" above the sentence."""
    draw = ImageDraw.Draw(page)
    x, y = layout.box_xy
    draw.rounded_rectangle(
        (x, y, x + layout.box, y + layout.box),
        layout.radius,
        fill=CARD,
        outline=LINE,
        width=max(2, layout.px(2)),
    )
    inner = (x + layout.box * 0.1, x + layout.box * 0.9)
    label, size = layout.px(20), layout.px(30)
    lines = clip_lines(wrap(shot.frame.text.strip(), "", size, inner[1] - inner[0]), 9)
    height = line_height(label) * 2 + len(lines) * line_height(size)
    top = y + (layout.box - height) // 2
    draw_line(draw, "No picture yet", inner, top, "", label, ACCENT, align="center")
    top += line_height(label) * 2
    rtl = is_right_to_left(shot.frame.text)
    for line in lines:
        draw_line(draw, line, inner, top, "", size, INK, align="center", rtl=rtl)
        top += line_height(size)


def _title_banner(story: StoryRecord, layout: _Layout) -> Image.Image:
    """The title card in small, to lie over the bottom of the first picture."""
    width, height = layout.banner_size
    banner = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(banner)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), layout.radius, fill=(*PAPER, 235))
    inner = (layout.margin * 0.6, width - layout.margin * 0.6)
    size, small = layout.px(34), layout.px(20)
    title = clip_lines(
        wrap(story.title.strip() or "Untitled story", "B", size, inner[1] - inner[0]), 2
    )
    block = len(title) * line_height(size) + line_height(small)
    top = (height - block) // 2
    for text in title:
        draw_line(draw, text, inner, top, "B", size, INK, align="center")
        top += line_height(size)
    draw_line(draw, _facts(story), inner, top, "", small, MUTED, align="center")
    return banner


def _facts(story: StoryRecord) -> str:
    pictures = f"{len(story.frames)} {'picture' if len(story.frames) == 1 else 'pictures'}"
    facts = [
        story.class_name,
        f"{story.created_at.day} {story.created_at:%B %Y}",
        language_name(story.language) if story.language else "",
        pictures,
    ]
    return " · ".join(fact for fact in facts if fact)


def _title_card(story: StoryRecord, layout: _Layout) -> Image.Image:
    card = Image.new("RGB", (layout.width, layout.height), PAPER)
    draw = ImageDraw.Draw(card)
    inner = (layout.width * 0.1, layout.width * 0.9)
    size, small = layout.px(60), layout.px(26)
    title = clip_lines(
        wrap(story.title.strip() or "Untitled story", "B", size, inner[1] - inner[0]), 3
    )
    line = _facts(story)
    height = len(title) * line_height(size) + line_height(small) * 2
    top = (layout.height - height) // 2
    for text in title:
        draw_line(draw, text, inner, top, "B", size, INK, align="center")
        top += line_height(size)
    draw_line(draw, line, inner, top + line_height(small), "", small, MUTED, align="center")
    return card
