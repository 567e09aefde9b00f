"""Teacher and student roles.

When ``S2I_TEACHER_PASSCODE`` is set, creating, editing, deleting and regenerating need that
passcode; everyone else is a student who can only browse and replay. Without a passcode the app
is single-user and everyone is the teacher. Pages hide teacher-only controls from students, and
every teacher action also calls ``require_teacher`` where it runs.

Teacher mode is a session held on the server (s2i_core.storage.sessions): opened by the right
passcode, ended by Lock, by "Lock on every device", or after ``S2I_TEACHER_HOURS`` (the lesson).
This browser tab knows its session by id (kept on the server, in session state); other tabs and
reloads know it by an HttpOnly cookie that only the server sets (s2i_ui/auth_routes.py): after an
unlock the page sends the browser through a one-time ticket that the server swaps for the cookie.
Page script never sees or writes it. Wrong passcodes slow down the browser and the network
address that sent them (s2i_core.storage.throttle), never another browser.

Sessions opened with the passcode belong to that passcode (a keyed hash of it, with a secret this
installation keeps in its data folder): changing the passcode ends every one of them.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
from pathlib import Path

import streamlit as st

from s2i_core.settings import Settings
from s2i_core.storage import PasscodeThrottle, SessionBook, SessionRecord, Verdict

from . import web

SESSION_KEY = "s2i_teacher_session"  # this tab's teacher session id (server side only)
BROWSER_KEY = "s2i_browser_name"  # a name for this browser session when it sent no cookie
NAVIGATE_KEY = "s2i_navigate"  # a server route to send the browser through after this run
SECRET_FILE = ".teacher-cookie-secret"


def single_user(settings: Settings) -> bool:
    return not settings.teacher_passcode


def is_teacher(settings: Settings) -> bool:
    return single_user(settings) or teacher_session(settings) is not None


def teacher_session(settings: Settings) -> SessionRecord | None:
    """This tab's live teacher session: its own, or the one the browser's cookie names."""
    if single_user(settings):
        return None
    book, owner = _book(settings), passcode_user(settings)
    found = book.live(st.session_state.get(SESSION_KEY))
    if found is None:
        found = book.by_token(_sent_cookie(web.TEACHER_COOKIE))
    if found is None or found.ended or found.user != owner:
        st.session_state.pop(SESSION_KEY, None)
        return None
    st.session_state[SESSION_KEY] = found.id
    return found


def unlock(settings: Settings, entered: str) -> Verdict:
    """Check a typed passcode (in constant time, and only as often as the throttle allows); on
    success this browser gets a new teacher session. A refusal carries its message."""
    if single_user(settings):
        return Verdict(True)
    throttle = PasscodeThrottle(_engine(settings))
    verdict = throttle.check(settings.teacher_passcode, entered, browser_name(), _address())
    if verdict:
        session = _book(settings).open(
            passcode_user(settings),
            settings.teacher_hours,
            browser=browser_name(),
            device=device_name(),
        )
        st.session_state[SESSION_KEY] = session.id
        _hand_over_cookie(settings, session.id)
    return verdict


def lock(settings: Settings) -> None:
    """Lock: this session ends on the server (a copied cookie no longer works anywhere)."""
    _book(settings).revoke(st.session_state.pop(SESSION_KEY, None))
    _clear_cookie()


def lock_everywhere(settings: Settings) -> int:
    """Lock on every device: every session of this teacher ends (a lost laptop, a shared PC)."""
    st.session_state.pop(SESSION_KEY, None)
    ended = _book(settings).revoke_user(passcode_user(settings))
    _clear_cookie()
    return ended


def require_teacher(settings: Settings, action: str = "do this") -> None:
    """Stop the script run unless this session is a teacher's. Call it where the action runs."""
    if not is_teacher(settings):
        st.error(f"Only a teacher can {action}. Enter the teacher passcode first.")
        st.stop()


def navigate_browser() -> None:
    """After an unlock or a Lock, send the browser through the server route that sets or clears
    its cookie, then back to this page (once, from this run)."""
    target = st.session_state.pop(NAVIGATE_KEY, None)
    if not target:
        return
    script = (
        f"<script>window.location.replace({json.dumps(target)} + '&next=' + "
        "encodeURIComponent(window.location.pathname + window.location.search));</script>"
    )
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True)


def passcode_user(settings: Settings) -> str:
    """Who a passcode session belongs to: a keyed hash of the passcode, so that a new passcode
    ends the old sessions and the database never holds anything to guess the passcode from."""
    key = _install_secret(settings.data_dir)
    keyed = hmac.new(key, settings.teacher_passcode.encode(), "sha256")
    return f"passcode:{keyed.hexdigest()[:32]}"


def browser_name() -> str:
    """The server-given name of this browser (its ``s2i_browser`` cookie), else one for this
    browser session: wrong passcodes are counted per browser."""
    sent = _sent_cookie(web.BROWSER_COOKIE)
    return sent or st.session_state.setdefault(BROWSER_KEY, secrets.token_urlsafe(24))


def device_name() -> str:
    """ "Firefox on Windows": enough for a teacher to recognise a device in a list."""
    agent = _header("User-Agent")
    browsers = ("Edg", "Firefox", "Chrome", "Safari")
    systems = ("Windows", "Android", "iPhone", "iPad", "Mac OS", "CrOS", "Linux")
    browser = next((b for b in browsers if b in agent), "A browser")
    system = next((s for s in systems if s in agent), "")
    names = {"Edg": "Edge", "Mac OS": "macOS", "CrOS": "ChromeOS"}
    browser, system = names.get(browser, browser), names.get(system, system)
    return f"{browser} on {system}" if system else browser


def _hand_over_cookie(settings: Settings, session_id: int) -> None:
    if web.routes_mounted():  # under AppTest there is no server to set a cookie
        ticket = _book(settings).ticket(session_id, browser_name())
        st.session_state[NAVIGATE_KEY] = f"{web.url_path('/s2i/session')}?ticket={ticket}"


def _clear_cookie() -> None:
    if web.routes_mounted() and _sent_cookie(web.TEACHER_COOKIE):
        st.session_state[NAVIGATE_KEY] = f"{web.url_path('/s2i/lock')}?from=lock"


def _engine(settings: Settings):
    from . import resources

    return resources.library(settings).engine


def _book(settings: Settings) -> SessionBook:
    return SessionBook(_engine(settings))


def _sent_cookie(name: str) -> str | None:
    return _text(lambda: st.context.cookies.get(name)) or None


def _header(name: str) -> str:
    return _text(lambda: st.context.headers.get(name))


def _address() -> str:
    """The browser's network address; "" on this computer (Streamlit says None for localhost)."""
    address = _text(lambda: st.context.ip_address)
    return address if re.fullmatch(r"[0-9a-fA-F:.]{2,45}", address) else ""


def _text(read) -> str:
    try:
        value = read()
    except Exception:  # no browser behind this run (tests, bare mode)
        return ""
    return value if isinstance(value, str) else ""


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
