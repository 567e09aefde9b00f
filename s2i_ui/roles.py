"""Teacher and student roles: who is looking (a ``Viewer``, s2i_core.storage.access).

- Single classroom: when ``S2I_TEACHER_PASSCODE`` is set, creating, editing, deleting and
  regenerating need that passcode; everyone else is a student who can only browse and replay.
  Without a passcode (and without sign-in) the app is single-user and everyone is the teacher.
- A whole school: with ``[auth]`` in secrets.toml, teachers sign in with the school account
  (s2i_ui/signin.py); ``S2I_TEACHERS`` and ``S2I_ADMINS`` say who is a teacher and who an admin,
  anyone else gets the student view. The passcode is then off unless S2I_PASSCODE_WITH_SIGNIN.
  Students need no account: a class code or class link opens that class's library.

Pages hide teacher-only controls from students and from teachers who may not change a story,
and every teacher action also calls ``require_teacher`` where it runs.

Teacher mode is a session held on the server (s2i_core.storage.sessions): opened by the right
passcode, ended by Lock, by "Lock on every device", or after ``S2I_TEACHER_HOURS`` (the lesson).
This browser tab knows its session by id (kept on the server, in session state); other tabs and
reloads know it by an HttpOnly cookie that only the server sets (s2i_ui/auth_routes.py): after an
unlock the page has the browser hand a one-time ticket to the server, which answers with the
cookie. Page script never sees or writes it. Wrong passcodes slow down the browser and the network
address that sent them (s2i_core.storage.throttle), never another browser.

Sessions opened with the passcode belong to that passcode (a keyed hash of it, with a secret this
installation keeps in its data folder): changing the passcode ends every one of them. A sign-in
opens a session too, found by that sign-in (signin.login_id): signing out ends it in every tab,
and a sign-in older than the lesson opens none (the teacher signs in again).
"""

from __future__ import annotations

import hmac
import json
import re
import secrets

import streamlit as st
from sqlalchemy.exc import IntegrityError

from s2i_core.kept_secrets import kept_secret
from s2i_core.settings import Settings
from s2i_core.storage import (
    ADMIN,
    STUDENT,
    TEACHER,
    ClassBook,
    PasscodeThrottle,
    SessionBook,
    SessionRecord,
    Verdict,
    Viewer,
    can_edit,
    can_manage,
    can_see,
)
from s2i_core.storage.access import first_admin

from . import signin, web
from .i18n import _

SESSION_KEY = "s2i_teacher_session"  # this tab's teacher session id (server side only)
CLASS_KEY = "s2i_class_code"  # the class code this student device opened
BROWSER_KEY = "s2i_browser_name"  # a name for this browser session when it sent no cookie
NAVIGATE_KEY = "s2i_navigate"  # a server route to send the browser through after this run
SECRET_FILE = ".teacher-cookie-secret"


def single_user(settings: Settings) -> bool:
    return not settings.teacher_passcode and not signin.configured()


def school_mode() -> bool:
    """Teachers sign in with the school account ([auth] in secrets.toml)."""
    return signin.configured()


def passcode_allowed(settings: Settings) -> bool:
    allowed = settings.passcode_with_signin.strip().lower() in ("1", "true", "yes", "on")
    return bool(settings.teacher_passcode) and (allowed or not school_mode())


def is_teacher(settings: Settings) -> bool:
    return viewer(settings).teacher


def viewer(settings: Settings) -> Viewer:
    """Who is looking, this run: a teacher (by sign-in or passcode), an admin, or a student."""
    if single_user(settings):
        return Viewer(ADMIN)
    signed = _signed_in(settings) if school_mode() else None
    if signed is not None and signed.teacher:
        return signed
    if passcode_allowed(settings) and teacher_session(settings) is not None:
        return Viewer(TEACHER if school_mode() else ADMIN)  # the classroom's own teacher: ""
    signed = signed or Viewer()
    return Viewer(
        STUDENT,
        class_name=student_class(settings),
        every_class=not school_mode(),
        signed_in_as=signed.signed_in_as,
        note=signed.note,
    )


def may_see(settings: Settings, story) -> bool:
    return can_see(viewer(settings), story)


def may_edit(settings: Settings, story) -> bool:
    return can_edit(viewer(settings), story)


def may_manage(settings: Settings, story) -> bool:
    return can_manage(viewer(settings), story)


def owner(settings: Settings) -> str:
    """Who owns what this teacher makes now."""
    return viewer(settings).user


def teacher_session(settings: Settings) -> SessionRecord | None:
    """This tab's live passcode session: its own, or the one the browser's cookie names."""
    if not passcode_allowed(settings):
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
    if not passcode_allowed(settings):
        return Verdict(False, _("Teachers sign in with their school account here."))
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
    """Lock on every device: every session of this teacher ends (a lost laptop, a shared PC),
    signed-in ones included; a signed-in teacher then signs in again."""
    st.session_state.pop(SESSION_KEY, None)
    who = viewer(settings)
    book = _book(settings)
    ended = book.revoke_user(who.signed_in_as) if who.signed_in_as else 0
    if passcode_allowed(settings) and not who.signed_in_as:
        ended += book.revoke_user(passcode_user(settings))
    _clear_cookie()
    return ended


def sign_in(provider: str) -> None:
    st.login(provider)


def sign_out(settings: Settings) -> None:
    """Sign out: this sign-in ends on the server, in every tab that holds it, then Streamlit
    forgets the account in this browser (and asks the provider to, where it can)."""
    info = signin.user_info()
    if info:
        _book(settings).revoke_login(signin.login_id(info))
    st.logout()


def require_teacher(settings: Settings, action: str = "", story_id: int | None = None) -> None:
    """Stop the script run unless this session is a teacher's (one who may change story
    ``story_id``, when given). Call it where the action runs; ``action`` is in the reader's
    language ("rename stories")."""
    action = action or _("do this")
    who = viewer(settings)
    if not who.teacher:
        if school_mode():
            st.error(_("Only a teacher can {action}. Sign in as a teacher first.", action=action))
        else:
            st.error(
                _("Only a teacher can {action}. Enter the teacher passcode first.", action=action)
            )
        st.stop()
    if story_id is not None and not _story_editable(settings, who, story_id):
        st.error(
            _(
                "You cannot {action} in this story: it is another teacher's and not shared.",
                action=action,
            )
        )
        st.stop()


def student_class(settings: Settings) -> str | None:
    """The class this student device opened with its code (address, session or cookie)."""
    typed = st.query_params.get("class")
    if typed:
        st.session_state[CLASS_KEY] = typed
    code = st.session_state.get(CLASS_KEY) or _sent_cookie(web.CLASS_COOKIE)
    return ClassBook(_engine(settings)).class_of(code) if code else None


def open_class(settings: Settings, code: str) -> str | None:
    """A student typed a class code: the class it opens (kept for this device), or None."""
    name = ClassBook(_engine(settings)).class_of(code)
    if name is not None:
        st.session_state[CLASS_KEY] = code
        if web.routes_mounted():  # kept in a cookie too, for the next visit
            st.session_state[NAVIGATE_KEY] = f"{web.url_path('/s2i/join')}?code={code}"
    return name


def _story_editable(settings: Settings, who: Viewer, story_id: int) -> bool:
    from s2i_core.errors import StoryNotFoundError

    from . import resources

    try:
        story = resources.library(settings).get_story(story_id)
    except StoryNotFoundError:
        return True  # nothing to protect; the action itself says it is gone
    return can_edit(who, story)


def _signed_in(settings: Settings) -> Viewer | None:
    """The signed-in account as a Viewer: a teacher or admin with a live session, else a
    student who is told why (not on the list, signed out elsewhere, signed in too long ago)."""
    info = signin.user_info()
    if not info:
        return None
    email = signin.email_of(info)
    if not email:
        return Viewer(note="no-email")
    role = ADMIN if signin.listed(email, settings.admins) else STUDENT
    if role == STUDENT and signin.listed(email, settings.teachers):
        role = TEACHER
    if role == STUDENT:
        return Viewer(signed_in_as=email, note="not-a-teacher")
    _adopt_old_stories(settings)
    session = _signed_in_session(settings, email, info)
    if session is None:
        return Viewer(signed_in_as=email, note="signed-out")
    return Viewer(role, user=email, signed_in_as=email)


def _signed_in_session(settings: Settings, email: str, info: dict) -> SessionRecord | None:
    book, login = _book(settings), signin.login_id(info)
    found = book.by_login(login)
    if found is None:
        hours_left = settings.teacher_hours - signin.age_hours(info)
        if hours_left <= 0:
            return None  # a sign-in from before this lesson: sign in again
        try:
            found = book.open(
                email, hours_left, browser=browser_name(), device=device_name(), login=login
            )
        except IntegrityError:  # another tab of this browser opened it just now
            found = book.by_login(login)
    return None if found is None or found.ended or found.user != email else found


def _adopt_old_stories(settings: Settings) -> None:
    admin = first_admin(settings)
    if admin:
        _adopted(settings.db_url, admin, settings)


@st.cache_resource(show_spinner=False)
def _adopted(db_url: str, admin: str, _settings: Settings) -> int:
    """Once per process: stories made before sign-in (owner "") become the first admin's."""
    from . import resources

    return resources.library(_settings).adopt_unowned(admin)


def navigate_browser() -> None:
    """After an unlock, a Lock or a class code, have the browser ask the server route that sets or
    clears its cookie (once, from this run). The page stays as it is: a request in the
    background, from this page (same origin), whose answer carries the cookie."""
    target = st.session_state.pop(NAVIGATE_KEY, None)
    if not target:
        return
    script = (
        f"<script>fetch({json.dumps(target)}, "
        "{credentials: 'same-origin', redirect: 'manual', cache: 'no-store'});</script>"
    )
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True)


def passcode_user(settings: Settings) -> str:
    """Who a passcode session belongs to: a keyed hash of the passcode, so that a new passcode
    ends the old sessions and the database never holds anything to guess the passcode from."""
    key = kept_secret(settings.data_dir / SECRET_FILE)
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
    if web.routes_mounted():  # the cookie may have come after this page connected
        st.session_state[NAVIGATE_KEY] = web.url_path("/s2i/lock")


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
