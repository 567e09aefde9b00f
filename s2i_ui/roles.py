"""Teacher and student roles.

When ``S2I_TEACHER_PASSCODE`` is set, creating, editing, deleting and regenerating need that
passcode once per browser session; everyone else is a student who can only browse and replay.
Without a passcode the app is single-user and everyone is the teacher. Pages hide teacher-only
controls from students, and every teacher action also calls ``require_teacher`` where it runs.
"""

from __future__ import annotations

import hmac

import streamlit as st

from s2i_core.settings import Settings

UNLOCKED_KEY = "s2i_teacher_unlocked"


def single_user(settings: Settings) -> bool:
    return not settings.teacher_passcode


def is_teacher(settings: Settings) -> bool:
    return single_user(settings) or st.session_state.get(UNLOCKED_KEY) == _fingerprint(settings)


def unlock(settings: Settings, entered: str) -> bool:
    """Check a typed passcode in constant time; on success this browser session is a teacher's."""
    if single_user(settings):
        return True
    if hmac.compare_digest(entered.strip().encode(), settings.teacher_passcode.encode()):
        st.session_state[UNLOCKED_KEY] = _fingerprint(settings)
        return True
    return False


def lock() -> None:
    st.session_state.pop(UNLOCKED_KEY, None)


def require_teacher(settings: Settings, action: str = "do this") -> None:
    """Stop the script run unless this session is a teacher's. Call it where the action runs."""
    if not is_teacher(settings):
        st.error(f"Only a teacher can {action}. Enter the teacher passcode in the sidebar first.")
        st.stop()


def _fingerprint(settings: Settings) -> str:
    # Changing the passcode on the server locks every session that unlocked with the old one,
    # without keeping the passcode itself in session state.
    return hmac.new(b"s2i-teacher", settings.teacher_passcode.encode(), "sha256").hexdigest()
