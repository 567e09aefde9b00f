"""Widgets every page shares: page setup, the role-aware sidebar, frame cards, small formatters."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from s2i_core.errors import RateLimitedError, S2IError, SettingsError
from s2i_core.exports.timeline import SHOWS_PICTURE
from s2i_core.i18n import N_
from s2i_core.settings import Settings
from s2i_core.storage import picture_readable

from . import account, i18n, media_routes, navigation, resources, roles
from .i18n import _, ngettext, tr

if TYPE_CHECKING:
    from s2i_core.storage import FrameRecord, Library

# Kept here so pages can say widgets.LIBRARY_PAGE; the pages themselves live in navigation.
HOME, CREATE_PAGE, LIBRARY_PAGE, STORY_PAGE = (
    navigation.HOME,
    navigation.CREATE_PAGE,
    navigation.LIBRARY_PAGE,
    navigation.STORY_PAGE,
)

log = logging.getLogger("s2i_ui")

# Bundled, so no page asks another site for its icon (a Material icon would come from Google).
ICON = Path(__file__).with_name("static") / "icon.png"
TOASTS_KEY = "s2i_toasts"
STATUS_LABELS = {
    "pending": N_(":material/hourglass_empty: Waiting"),
    "drawing": N_(":material/brush: Drawing"),
    "done": N_(":material/check_circle: Done"),
    "filtered": N_(":material/shield: Filtered"),
    "failed": N_(":material/error: Failed"),
    "no_backend": N_(":material/image_not_supported: No picture service"),
}

# Keeps pages readable on a 768 px tablet: no fixed widths, long words wrap, no sideways scroll.
_CSS = """
<style>
/* Below Streamlit's 3.75rem header, which covers (and takes the clicks of) anything under it. */
[data-testid="stMainBlockContainer"] { max-width: 1180px; padding: 4.25rem 1.25rem 3rem; }
[data-testid="stMarkdownContainer"] p,
[data-testid="stCaptionContainer"] { overflow-wrap: anywhere; }
[data-testid="stImage"] img { border-radius: 8px; }
/* Small print readable by everyone (WCAG AA, 4.5:1 on the page and on the sidebar's beige):
   Streamlit's captions are a faded grey that is not. */
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] small,
[data-testid="stTooltipHoverTarget"] { color: #575c64 !important; opacity: 1 !important; }
</style>
"""


def setup(spec: navigation.PageSpec) -> Settings:
    """Once per run, in the entry point: page config, shared style, settings, sidebar."""
    st.set_page_config(
        page_title=_("{page} · Speech to Storyboard", page=_(spec.title)),
        page_icon=str(ICON),
        layout=spec.layout,
    )
    st.html(_CSS)
    i18n.page_language()
    try:
        settings = resources.settings()
        resources.app_worker(settings)
    except SettingsError as error:  # a typo in the deployment: say which setting, nothing else
        st.error(tr(error), icon=":material/settings:")
        st.stop()
    sidebar(settings, spec)
    roles.navigate_browser()
    show_toasts()
    return settings


def page_failed(spec: navigation.PageSpec, error: Exception) -> None:
    """What anyone sees when a page meets an error we did not foresee: a plain sentence and the
    way on; the details (server paths, the trace) go to the log only."""
    log.error("the %s page failed", spec.title, exc_info=error)
    st.error(
        _(
            "Something went wrong on this page. Other stories and pages still work; if it "
            "happens again, tell the teacher (the details are in the app's log)."
        ),
        icon=":material/sentiment_dissatisfied:",
    )
    st.page_link(LIBRARY_PAGE, label=_("Open the library"), icon=":material/local_library:")


def notify(message: str) -> None:
    """A short confirmation that survives the rerun an action causes (shown as a toast); pages
    pass it in the reader's language."""
    st.session_state.setdefault(TOASTS_KEY, []).append(message)


def rerun_page() -> None:
    """From a live fragment (``st.fragment(run_every=…)``) that sees its work ended: run the whole
    page again, to show what came of it (the caller returns after this).

    Only from the fragment's own timed run. When the fragment is drawn as part of the page's run,
    that run may have started with a click (a teacher pressing "Merge" as the scene writer ends);
    stopping it would drop the click. The fragment's next timed run, a moment later, shows it."""
    context = get_script_run_ctx()
    if context is not None and context.fragment_ids_this_run:
        st.rerun(scope="app")


def show_toasts() -> None:
    for message in st.session_state.pop(TOASTS_KEY, []):
        st.toast(message, icon=":material/check_circle:")


def sidebar(settings: Settings, spec: navigation.PageSpec) -> None:
    with st.sidebar:
        navigation.menu(roles.is_teacher(settings))
        st.divider()
        i18n.language_menu()
        # One passcode box on screen: Home and the teacher pages have theirs on the page.
        role_box(settings, passcode=not (spec.teacher_only or spec.path == HOME))
        st.html(_CLOSE_SIDEBAR_ON_PHONES, unsafe_allow_javascript=True)


# On a phone the sidebar lies over the page; after a link in it is chosen, close it, as Streamlit's
# own page menu does. (Only our fixed code runs here; no user text reaches it.)
_CLOSE_SIDEBAR_ON_PHONES = """<script>
if (!window.__s2iSidebarCloser) {
  window.__s2iSidebarCloser = true;
  document.addEventListener("click", (event) => {
    const sidebar = document.querySelector('[data-testid="stSidebar"]');
    const main = document.querySelector('[data-testid="stMain"]');
    if (!sidebar || !main || !event.target.closest('[data-testid="stSidebar"] a')) return;
    const covering = main.getBoundingClientRect().left < sidebar.getBoundingClientRect().right - 1;
    const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (covering && close) setTimeout(() => close.click(), 0);
  }, true);
}
</script>"""


def role_box(settings: Settings, passcode: bool = True) -> None:
    who = roles.viewer(settings)
    if roles.single_user(settings):
        st.caption(
            _("Single-user mode: no teacher passcode is set, so everyone here is the teacher.")
        )
    elif who.teacher and who.signed_in_as:
        account.signed_in_box(settings, who)
    elif who.teacher:
        st.success(_("Teacher mode is on."), icon=":material/lock_open:")
        st.button(
            _("Lock (back to student view)"),
            on_click=roles.lock,
            args=(settings,),
            key="lock_teacher",
        )
        st.button(
            _("Lock on every device"),
            on_click=lock_everywhere,
            args=(settings,),
            key="lock_everywhere",
            help=_(
                "Ends teacher mode on every computer and tablet where it is on: for a laptop "
                "left behind or a shared computer."
            ),
        )
    else:
        st.caption(_("Student view: browse and replay stories."))
        account.student_class_line(settings, who)
        if roles.school_mode():
            account.sign_in_box(settings, who, key="sidebar")
        if roles.passcode_allowed(settings):
            if passcode:
                unlock_form(settings, key="sidebar_unlock")
            else:
                st.caption(_("Teacher? The passcode box is on this page."))


def lock_everywhere(settings: Settings) -> None:
    ended = roles.lock_everywhere(settings)
    notify(
        ngettext("Teacher mode ended on {n} device.", "Teacher mode ended on {n} devices.", ended)
    )


def unlock_form(settings: Settings, key: str) -> None:
    """Passcode entry; on success the page reruns in teacher mode for this browser session."""
    with st.form(key, clear_on_submit=True, border=False):
        entered = st.text_input(_("Teacher passcode"), type="password", key=f"{key}_passcode")
        if st.form_submit_button(_("Unlock teacher mode")):
            with st.spinner(_("Checking the passcode…")):
                verdict = roles.unlock(settings, entered or "")
            if verdict:
                st.rerun()
            st.error(tr(verdict.message), icon=":material/lock:")


def teacher_gate(settings: Settings, action: str) -> None:
    """Top of a teacher-only page: students get the passcode form and nothing else."""
    if roles.is_teacher(settings):
        return
    if roles.school_mode():
        message = _("Only a teacher can {action}. Sign in as a teacher to continue.", action=action)
    else:
        message = _(
            "Only a teacher can {action}. Enter the teacher passcode to continue.", action=action
        )
    st.info(message, icon=":material/lock:")
    if roles.school_mode():
        account.sign_in_box(settings, roles.viewer(settings), key="page")
    if roles.passcode_allowed(settings):
        unlock_form(settings, key="page_unlock")
    st.page_link(
        LIBRARY_PAGE, label=_("Browse the library instead"), icon=":material/local_library:"
    )
    st.stop()


def show_error(error: S2IError) -> None:
    message = tr(error)
    if isinstance(error, RateLimitedError) and error.retry_after and "second" not in str(error):
        message += " " + _(
            "Try again in about {seconds} seconds.", seconds=f"{error.retry_after:.0f}"
        )
    st.error(message, icon=":material/warning:")


def frame_card(
    frame: FrameRecord, library: Library, thumbnail: bool = False, details: bool = False
) -> None:
    """One storyboard frame: its picture (or a card) and sentence. ``details`` (teachers): times,
    how the picture went and why it failed; students never see the machinery."""
    picture = stored_picture(frame, library, thumbnail)
    if picture is not None:
        rel = frame.thumb_path if thumbnail else frame.image_path
        source = media_routes.picture_source(library, rel, full=not thumbnail)
        st.image(source, width="stretch", alt=scene_of(frame))
    elif details and frame.status in SHOWS_PICTURE and frame.image_path:
        no_picture(_("The picture file is damaged: draw it again"))
    elif details:
        waiting = frame.status in ("pending", "drawing")
        no_picture(_("Waiting for its picture…") if waiting else _("No picture"))
    else:
        no_picture(_("✏️ Imagine this picture!"))
    if details:
        st.markdown(
            f"**{frame.index + 1}** · {clock(frame.start)}–{clock(frame.end)} · "
            f"{_(STATUS_LABELS[frame.status]) if frame.status in STATUS_LABELS else frame.status}"
        )
    else:
        st.markdown(f"**{frame.index + 1}**")
    st.markdown(plain(frame.text))
    if details and frame.error:  # on a done frame: why a redo left the earlier picture
        st.caption(plain(tr(frame.error)))


def stored_picture(frame: FrameRecord, library: Library, thumbnail: bool = False) -> Path | None:
    """The frame's picture file when it has one to show and it can be read whole (a damaged or
    missing file gives the card instead, never an error)."""
    rel = frame.thumb_path if thumbnail else frame.image_path
    return readable(library, rel) if frame.status in SHOWS_PICTURE else None


def readable(library: Library, rel: str | None) -> Path | None:
    """A stored picture's path if it decodes whole, else None."""
    if not rel:
        return None
    try:
        path = library.path(rel)
    except S2IError:  # a link that leads out of the data folder
        return None
    return path if picture_readable(path) else None


def scene_of(frame: FrameRecord) -> str:
    """The picture's alternative text: what it shows (its scene), else its sentence."""
    return frame.scene or frame.text_en or frame.text


def no_picture(label: str) -> None:
    """A square placeholder where a picture will go; ``label`` is our own fixed text."""
    st.markdown(
        "<div style='aspect-ratio:1;display:flex;align-items:center;justify-content:center;"
        "background:#f4efe6;border-radius:8px;color:#5c4d33;text-align:center;padding:1rem'>"
        f"{label}</div>",
        unsafe_allow_html=True,
    )


def file_size(size: int) -> str:
    """1.2 MB, 48 KB, 900 bytes: never "0.0 MB" for a short recording."""
    if size >= 1_000_000:
        return _("{size} MB", size=i18n.number(round(size / 1e6, 1)))
    if size >= 1_000:
        return _("{size} KB", size=i18n.number(round(size / 1e3)))
    return ngettext("{n} byte", "{n} bytes", size)


def clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def plain(text: str) -> str:
    """User text shown through st.markdown without being read as Markdown or LaTeX."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", text)
