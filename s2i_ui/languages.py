"""The language picker the Create and Story pages share: every language Whisper knows, by name."""

from __future__ import annotations

import streamlit as st

from s2i_core.speech import LANGUAGE_NAMES

from . import i18n
from .i18n import _


def pick(label: str, key: str, current: str | None = None, detect: bool = False) -> str | None:
    """A language code chosen by the teacher (``current`` chosen at first; none when it is None
    or unknown). With ``detect``, "Detect automatically" is offered too and gives None."""
    known = sorted(LANGUAGE_NAMES, key=i18n.language)  # by name, in the reader's language
    codes = ["auto", *known] if detect else known
    chosen = current if current in codes else None
    value = st.selectbox(
        label,
        codes,
        index=codes.index(chosen) if chosen else None,
        format_func=i18n.labels(
            codes, lambda code: _("Detect automatically") if code == "auto" else i18n.language(code)
        ),
        placeholder=_("Choose the language"),
        key=key,
    )
    return None if value in (None, "auto") else value
