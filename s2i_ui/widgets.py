"""Widgets every page shares: page setup, the role-aware sidebar, frame cards, small formatters."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import streamlit as st

from s2i_core.errors import RateLimitedError, S2IError, SettingsError
from s2i_core.exports.timeline import SHOWS_PICTURE
from s2i_core.settings import Settings

from . import media_routes, navigation, resources, roles

if TYPE_CHECKING:
    from s2i_core.storage import FrameRecord, Library

# Kept here so pages can say widgets.LIBRARY_PAGE; the pages themselves live in navigation.
HOME, CREATE_PAGE, LIBRARY_PAGE, STORY_PAGE = (
    navigation.HOME,
    navigation.CREATE_PAGE,
    navigation.LIBRARY_PAGE,
    navigation.STORY_PAGE,
)

TOASTS_KEY = "s2i_toasts"
STATUS_LABELS = {
    "pending": ":material/hourglass_empty: Waiting",
    "drawing": ":material/brush: Drawing",
    "done": ":material/check_circle: Done",
    "filtered": ":material/shield: Filtered",
    "failed": ":material/error: Failed",
    "no_backend": ":material/image_not_supported: No picture service",
}

# Keeps pages readable on a 768 px tablet: no fixed widths, long words wrap, no sideways scroll.
_CSS = """
<style>
/* Below Streamlit's 3.75rem header, which covers (and takes the clicks of) anything under it. */
[data-testid="stMainBlockContainer"] { max-width: 1180px; padding: 4.25rem 1.25rem 3rem; }
[data-testid="stMarkdownContainer"] p,
[data-testid="stCaptionContainer"] { overflow-wrap: anywhere; }
[data-testid="stImage"] img { border-radius: 8px; }
</style>
"""


def setup(spec: navigation.PageSpec) -> Settings:
    """Once per run, in the entry point: page config, shared style, settings, sidebar."""
    st.set_page_config(
        page_title=f"{spec.title} · Speech to Storyboard", page_icon=spec.icon, layout=spec.layout
    )
    st.html(_CSS)
    try:
        settings = resources.settings()
        resources.app_worker(settings)
    except SettingsError as error:  # a typo in the deployment: say which setting, nothing else
        st.error(str(error), icon=":material/settings:")
        st.stop()
    sidebar(settings)
    roles.write_cookie()
    show_toasts()
    return settings


def notify(message: str) -> None:
    """A short confirmation that survives the rerun an action causes (shown as a toast)."""
    st.session_state.setdefault(TOASTS_KEY, []).append(message)


def show_toasts() -> None:
    for message in st.session_state.pop(TOASTS_KEY, []):
        st.toast(message, icon=":material/check_circle:")


def sidebar(settings: Settings) -> None:
    with st.sidebar:
        navigation.menu(roles.is_teacher(settings))
        st.divider()
        role_box(settings)
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


def role_box(settings: Settings) -> None:
    if roles.single_user(settings):
        st.caption("Single-user mode: no teacher passcode is set, so everyone here is the teacher.")
    elif roles.is_teacher(settings):
        st.success("Teacher mode is on.", icon=":material/lock_open:")
        st.button("Lock (back to student view)", on_click=roles.lock, key="lock_teacher")
    else:
        st.caption("Student view: browse and replay stories.")
        unlock_form(settings, key="sidebar_unlock")


def unlock_form(settings: Settings, key: str) -> None:
    """Passcode entry; on success the page reruns in teacher mode for this browser session."""
    with st.form(key, clear_on_submit=True, border=False):
        entered = st.text_input("Teacher passcode", type="password", key=f"{key}_passcode")
        if st.form_submit_button("Unlock teacher mode"):
            verdict = roles.unlock(settings, entered or "")
            if verdict:
                st.rerun()
            st.error(verdict.message, icon=":material/lock:")


def teacher_gate(settings: Settings, action: str) -> None:
    """Top of a teacher-only page: students get the passcode form and nothing else."""
    if roles.is_teacher(settings):
        return
    st.info(
        f"Only a teacher can {action}. Enter the teacher passcode to continue.",
        icon=":material/lock:",
    )
    unlock_form(settings, key="page_unlock")
    st.page_link(LIBRARY_PAGE, label="Browse the library instead", icon=":material/local_library:")
    st.stop()


def show_error(error: S2IError) -> None:
    message = str(error)
    if isinstance(error, RateLimitedError) and error.retry_after and "second" not in message:
        message += f" Try again in about {error.retry_after:.0f} seconds."
    st.error(message, icon=":material/warning:")


def frame_card(
    frame: FrameRecord, library: Library, thumbnail: bool = False, details: bool = False
) -> None:
    """One storyboard frame: its picture (or a card) and sentence. ``details`` (teachers): times,
    how the picture went and why it failed; students never see the machinery."""
    picture = frame.thumb_path if thumbnail else frame.image_path
    if picture and library.path(picture).is_file() and frame.status in SHOWS_PICTURE:
        source = media_routes.picture_source(library, picture, full=not thumbnail)
        st.image(source, width="stretch", alt=frame.text)
    elif details:
        waiting = frame.status in ("pending", "drawing")
        no_picture("Waiting for its picture…" if waiting else "No picture")
    else:
        no_picture("✏️ Imagine this picture!")
    if details:
        st.markdown(
            f"**{frame.index + 1}** · {clock(frame.start)}–{clock(frame.end)} · "
            f"{STATUS_LABELS.get(frame.status, frame.status)}"
        )
    else:
        st.markdown(f"**{frame.index + 1}**")
    st.markdown(plain(frame.text))
    if details and frame.error:  # on a done frame: why a redo left the earlier picture
        st.caption(plain(frame.error))


def no_picture(label: str) -> None:
    """A square placeholder where a picture will go; ``label`` is our own fixed text."""
    st.markdown(
        "<div style='aspect-ratio:1;display:flex;align-items:center;justify-content:center;"
        "background:#f4efe6;border-radius:8px;color:#8a7a60;text-align:center;padding:1rem'>"
        f"{label}</div>",
        unsafe_allow_html=True,
    )


def file_size(size: int) -> str:
    """1.2 MB, 48 KB, 900 bytes: never "0.0 MB" for a short recording."""
    if size >= 1_000_000:
        return f"{size / 1e6:.1f} MB"
    if size >= 1_000:
        return f"{size / 1e3:.0f} KB"
    return f"{size} bytes"


def clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def plain(text: str) -> str:
    """User text shown through st.markdown without being read as Markdown or LaTeX."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", text)
