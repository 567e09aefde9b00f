"""What every export shares about text: its direction, and the words shown where a picture is
missing. Which font sets which character is fonts.py's business; language names are
..languages'."""

from __future__ import annotations

import unicodedata

from ..i18n import N_

PLACEHOLDERS = {  # msgids: said in the export's language
    "pending": N_("This picture has not been made yet."),
    "failed": N_("This picture could not be made."),
    "filtered": N_("This picture was held back by the safety filter."),
    "no_backend": N_("No picture service was set up when this story was made."),
    "done": N_("The picture file is missing or damaged."),
}
UNTITLED = N_("Untitled story")


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
