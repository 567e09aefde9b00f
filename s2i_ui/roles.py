"""Teacher and student roles.

When ``S2I_TEACHER_PASSCODE`` is set, creating, editing, deleting and regenerating need that
passcode; everyone else is a student who can only browse and replay. Without a passcode the app
is single-user and everyone is the teacher. Pages hide teacher-only controls from students, and
every teacher action also calls ``require_teacher`` where it runs.

Teacher mode lasts the lesson: unlocking also leaves a signed cookie that expires after
``TEACHER_HOURS``, so a reload or a second tab stays unlocked; Lock ends it at once. The signing
key is derived from the passcode and a random secret this installation keeps in its data folder,
so changing the passcode (or deleting that file) ends every teacher session, and a cookie never
helps anyone guess the passcode.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

import streamlit as st

from s2i_core.settings import Settings
from s2i_core.storage import PasscodeThrottle, Verdict

UNLOCKED_KEY = "s2i_teacher_unlocked"
LOCKED_KEY = "s2i_teacher_locked"  # Lock pressed: ignore the cookie this browser session sent
COOKIE_WRITE_KEY = "s2i_teacher_cookie_write"
SESSION_KEY = "s2i_session_id"
COOKIE = "s2i_teacher"
TEACHER_HOURS = 8
SECRET_FILE = ".teacher-cookie-secret"


def single_user(settings: Settings) -> bool:
    return not settings.teacher_passcode


def is_teacher(settings: Settings) -> bool:
    if single_user(settings):
        return True
    if st.session_state.get(UNLOCKED_KEY) == _fingerprint(settings):
        return True
    if not st.session_state.get(LOCKED_KEY) and token_valid(settings, _sent_cookie()):
        st.session_state[UNLOCKED_KEY] = _fingerprint(settings)
        return True
    return False


def unlock(settings: Settings, entered: str) -> Verdict:
    """Check a typed passcode (in constant time, and only as often as the engine's throttle
    allows); on success this browser is a teacher's. A refusal carries its message."""
    if single_user(settings):
        return Verdict(True)
    verdict = _throttle(settings).check(settings.teacher_passcode, entered, _session_id())
    if verdict:
        st.session_state[UNLOCKED_KEY] = _fingerprint(settings)
        st.session_state.pop(LOCKED_KEY, None)
        st.session_state[COOKIE_WRITE_KEY] = make_token(settings)
    return verdict


def _throttle(settings: Settings) -> PasscodeThrottle:
    from . import resources

    return PasscodeThrottle(resources.library(settings).engine)


def _session_id() -> str:
    """A random name for this browser session: wrong passcodes are counted per session."""
    return st.session_state.setdefault(SESSION_KEY, secrets.token_hex(16))


def lock() -> None:
    st.session_state.pop(UNLOCKED_KEY, None)
    st.session_state[LOCKED_KEY] = True
    st.session_state[COOKIE_WRITE_KEY] = ""


def require_teacher(settings: Settings, action: str = "do this") -> None:
    """Stop the script run unless this session is a teacher's. Call it where the action runs."""
    if not is_teacher(settings):
        st.error(f"Only a teacher can {action}. Enter the teacher passcode first.")
        st.stop()


def write_cookie() -> None:
    """After an unlock or a Lock, set or clear the browser's cookie (once, from this run)."""
    token = st.session_state.pop(COOKIE_WRITE_KEY, None)
    if token is None:
        return
    max_age = TEACHER_HOURS * 3600 if token else 0
    script = (
        "<script>document.cookie = "
        f"{json.dumps(f'{COOKIE}={token}; Max-Age={max_age}; Path=/; SameSite=Strict')}"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True)


def make_token(settings: Settings, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + TEACHER_HOURS * 3600)
    return f"{expires}.{_sign(settings, expires)}"


def token_valid(settings: Settings, token: str | None, now: float | None = None) -> bool:
    if single_user(settings) or not token or "." not in token:
        return False
    expires, _, signature = token.partition(".")
    if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature, _sign(settings, int(expires)))


def _sent_cookie() -> str | None:
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this run (tests, bare mode)
        return None


def _sign(settings: Settings, expires: int) -> str:
    key = hmac.new(_install_secret(settings.data_dir), settings.teacher_passcode.encode(), "sha256")
    return hmac.new(key.digest(), f"teacher|{expires}".encode(), hashlib.sha256).hexdigest()


def _install_secret(data_dir: Path) -> bytes:
    """32 random bytes made on first use and kept (owner-only) in the data folder."""
    path = data_dir / SECRET_FILE
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{SECRET_FILE}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
        try:  # atomic: of two processes starting together, one file wins and both read it
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return bytes.fromhex(path.read_text().strip())


def _fingerprint(settings: Settings) -> str:
    # Changing the passcode on the server locks every session that unlocked with the old one,
    # without keeping the passcode itself in session state.
    return hmac.new(b"s2i-teacher", settings.teacher_passcode.encode(), "sha256").hexdigest()
