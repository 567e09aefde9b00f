"""Exports of a saved story: a printable PDF storyboard and a narrated MP4 video."""

from .fonts import missing_note
from .naming import export_file_name, export_path
from .pdf import export_pdf
from .video import VideoOptions, VideoSummary, export_video, video_bytes

__all__ = [
    "VideoOptions",
    "VideoSummary",
    "export_file_name",
    "export_path",
    "export_pdf",
    "export_video",
    "missing_note",
    "video_bytes",
]
