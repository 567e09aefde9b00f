"""A video frame's parts in the encoder's own format (YUV 4:2:0): where things go, the still
part of a shot with the moving picture laid into it, and overlays that fade.

Every shot's still parts (background, caption, card) are drawn once (video_cards.py); per video
frame only the moving picture is resampled, each colour plane on its own.
"""

from __future__ import annotations

import math

import av
import numpy as np
from PIL import Image, ImageDraw, ImageOps

from .captions import Typesetter
from .fonts import FontSet
from .timeline import Shot

COLORSPACE = "ITU709"  # HD video's colours (BT.709), also written into the stream
MAX_ZOOM = 1.08  # the pan and zoom move at most this far over a shot...
ZOOM_PER_SECOND = 0.02  # ...and never faster than this, however short the sentence
PAN_PATHS = ((1, 0.4), (-1, -0.3), (0.3, 1), (-0.4, -1))  # drift directions, shot after shot


def yuv420(image: Image.Image) -> np.ndarray:
    frame = av.VideoFrame.from_image(image).reformat(format="yuv420p", dst_colorspace=COLORSPACE)
    return frame.to_ndarray()


class Layout:
    """Where things go on a frame: the picture square on the left, the caption panel beside it;
    ``type`` sets text in the story's fonts; ``locale`` is the language of the video's own words."""

    def __init__(self, width: int, height: int, fonts: FontSet, locale: str = "en"):
        self.width, self.height = width, height
        self.locale = locale
        self.type = Typesetter(fonts)
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


class Planes:
    """A frame's still part in YUV 4:2:0, into which each frame's view of the picture goes."""

    def __init__(self, page: np.ndarray, layout: Layout):
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


class Overlay:
    """A partly transparent image laid over finished YUV frames at ``xy`` (even coordinates)."""

    def __init__(self, image: Image.Image, xy: tuple[int, int], layout: Layout):
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


def _plane_views(frame: np.ndarray, layout: Layout, x: int, y: int) -> list:
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


class MovingPicture:
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


def moving_picture(shot: Shot, layout: Layout) -> MovingPicture | None:
    try:
        with Image.open(shot.picture) as picture:
            return MovingPicture(picture.convert("RGB"), layout.box, shot.duration)
    except (OSError, ValueError):  # unreadable picture: the frame shows its card instead
        return None
