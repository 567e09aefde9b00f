"""Exports of a saved story: a printable PDF storyboard and a narrated video."""

from .pdf import export_pdf
from .text import LANGUAGE_NAMES, language_name

__all__ = ["LANGUAGE_NAMES", "export_pdf", "language_name"]
