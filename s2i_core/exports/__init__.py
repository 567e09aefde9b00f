"""Exports of a saved story: a printable PDF storyboard and a narrated MP4 video."""

from .pdf import export_pdf
from .text import LANGUAGE_NAMES, language_name
from .video import VideoOptions, VideoSummary, export_video, video_bytes

__all__ = [
    "LANGUAGE_NAMES",
    "VideoOptions",
    "VideoSummary",
    "export_pdf",
    "export_video",
    "language_name",
    "video_bytes",
]
