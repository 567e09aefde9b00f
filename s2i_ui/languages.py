"""The language picker the Create and Story pages share: every language Whisper knows, by name."""

from __future__ import annotations

import streamlit as st

from s2i_core.speech import LANGUAGE_NAMES, language_name

CODES = sorted(LANGUAGE_NAMES, key=language_name)


def pick(label: str, key: str, current: str | None = None, detect: bool = False) -> str | None:
    """A language code chosen by the teacher (``current`` chosen at first; none when it is None
    or unknown). With ``detect``, "Detect automatically" is offered too and gives None."""
    codes = ["auto", *CODES] if detect else CODES
    chosen = current if current in codes else None
    value = st.selectbox(
        label,
        codes,
        index=codes.index(chosen) if chosen else None,
        format_func=lambda code: "Detect automatically" if code == "auto" else language_name(code),
        placeholder="Choose the language",
        key=key,
    )
    return None if value in (None, "auto") else value
