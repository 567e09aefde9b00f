"""Exports of a saved story: a printable PDF storyboard and a narrated MP4 video."""

from .pdf import export_pdf
from .video import VideoOptions, VideoSummary, export_video, video_bytes

__all__ = [
    "VideoOptions",
    "VideoSummary",
    "export_pdf",
    "export_video",
    "video_bytes",
]
