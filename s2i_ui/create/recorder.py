"""The narration recorder: a running timer, a live level meter and a warning after 5 s of silence
while the teacher records, in a small component bundled with the app (s2i_ui/static/recorder.*,
nothing fetched from elsewhere). It runs in the page itself (Streamlit components v2), so the
browser asks for the microphone once for the app's own address.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

STATIC = Path(__file__).resolve().parents[1] / "static"
SUFFIXES = {"audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a"}


@dataclass(frozen=True)
class Recording:
    data: bytes
    name: str  # "recording.webm"
    source: str  # a new id per recording


@st.cache_resource(show_spinner=False)
def _component():
    return st.components.v2.component(
        "s2i_recorder",
        html=(STATIC / "recorder.html").read_text(),
        css=(STATIC / "recorder.css").read_text(),
        js=(STATIC / "recorder.js").read_text(),
    )


def recorder(key: str, on_start=None) -> Recording | None:
    """Draw the recorder; the finished recording on the run its Stop causes, else None.
    ``on_start`` runs when a recording begins (to clear messages left from before)."""
    result = _component()(
        key=key,
        on_started_change=on_start or (lambda: None),
        on_recording_change=lambda: None,
    )
    sent = result.get("recording") if hasattr(result, "get") else None
    if not sent:
        return None
    try:
        data = base64.b64decode(sent.get("audio", ""), validate=True)
    except (binascii.Error, ValueError, AttributeError):
        return None
    mime = str(sent.get("mime", "audio/webm")).split(";", 1)[0]
    suffix = SUFFIXES.get(mime, "webm")
    return Recording(data, f"recording.{suffix}", f"mic-{sent.get('id', '')}") if data else None
