"""What every export shares about text: the bundled fonts, which font a piece of text needs,
its direction, and the words shown where a picture is missing (language names: ..languages).

DejaVu Sans covers Latin, Cyrillic and Greek; Noto Sans Devanagari and Noto Sans Arabic cover
those scripts. Chinese, Japanese and Korean have no bundled font (see fonts/LICENSES.md).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

FONTS_DIR = Path(__file__).parent.parent / "fonts"
FONT = "dejavu"  # Latin, Cyrillic, Greek; also the fallback for Latin words in other scripts
FONT_FILES = {
    (FONT, ""): "DejaVuSans.ttf",
    (FONT, "B"): "DejaVuSans-Bold.ttf",
    (FONT, "I"): "DejaVuSans-Oblique.ttf",
    ("notodevanagari", ""): "NotoSansDevanagari-Regular.ttf",
    ("notodevanagari", "B"): "NotoSansDevanagari-Bold.ttf",
    ("notoarabic", ""): "NotoSansArabic-Regular.ttf",
    ("notoarabic", "B"): "NotoSansArabic-Bold.ttf",
}
# Text containing these scripts is set in their font as a whole: switching fonts inside a word
# would break the joining of Arabic letters and of Devanagari conjuncts.
SCRIPT_FONTS = {"DEVANAGARI": "notodevanagari", "ARABIC": "notoarabic"}
# The language tag HarfBuzz shapes each script font with.
SCRIPT_LANGUAGES = {"notodevanagari": "hi", "notoarabic": "ar", FONT: "en"}

PLACEHOLDERS = {
    "pending": "This picture has not been made yet.",
    "failed": "This picture could not be made.",
    "filtered": "This picture was held back by the safety filter.",
    "no_backend": "No picture service was set up when this story was made.",
    "done": "The picture file is missing from the library.",
}


def font_family(text: str) -> str:
    """The bundled font family that sets ``text`` as a whole."""
    for char in text:
        script = unicodedata.name(char, "").split(" ")[0]
        if script in SCRIPT_FONTS:
            return SCRIPT_FONTS[script]
    return FONT


def font_path(family: str, style: str = "") -> Path:
    """The font file of ``family`` in ``style`` ("", "B" or "I"), upright where there is none."""
    return FONTS_DIR / FONT_FILES.get((family, style), FONT_FILES[(family, "")])


def is_right_to_left(text: str) -> bool:
    """Whether ``text`` starts in a right-to-left script (Arabic, Urdu, Persian, Hebrew)."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"
