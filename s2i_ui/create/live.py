"""Tell it live (Create page): the story's details, then the microphone streams to the server
and each sentence appears, and then its picture, while the teacher is still speaking.

The browser side is s2i_ui/live_component.html, connected to s2i_ui/live_routes.py; the engine
side is s2i_core.live. The story is a draft in the library from the first second. When the
teacher stops, the whole recording is heard again; sentences it reads differently are offered
here, and a picture is drawn again only when the teacher takes the new sentence.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

from s2i_core.errors import S2IError
from s2i_core.jobs.runtime import runtime_for
from s2i_core.live import LIVE, LiveState, LiveStory, start_live_story
from s2i_core.settings import Settings
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions
from s2i_core.story.prompts import DEFAULT_STYLE, classroom_word_list, parse_blocklist
from s2i_ui import picture_options, roles, storyboard, widgets

from . import draft as drafts
from . import record
from .draft import Draft

COMPONENT = Path(__file__).resolve().parents[1] / "live_component.html"
LIVE_KEY = "live_story"  # the story this session is telling live
WANTED_KEY = "c_live"
REFRESH_SECONDS = 2.0
state = st.session_state


def offer() -> bool:
    """The choice between telling the story live and recording (or uploading) it."""
    return st.toggle(
        "Tell it live: each sentence is drawn while you speak",
        key=WANTED_KEY,
        help="The microphone streams to this app; sentences and pictures appear as you go. "
        "Everything heard is kept, even if the connection drops.",
    )


def current(library: Library) -> tuple[str, LiveStory] | None:
    """The live story this session is telling (or the one the address names, still being
    told in this app), with its connection token."""
    story_id = state.get(LIVE_KEY)
    if story_id is None:
        named = drafts.current(library)
        found = LIVE.of_story(named.story_id) if named else None
        if found is None or found[1].finished.is_set():
            return None
        state[LIVE_KEY] = named.story_id
        return found
    return LIVE.of_story(story_id)


def setup(settings: Settings, library: Library) -> None:
    record.story_details(settings, library)
    st.subheader("2 · Tell it live")
    problem = insecure_page()
    if problem:
        st.warning(problem, icon=":material/lock_open:")
    st.caption(
        "Press the button, then press ● Start telling below and tell your story. Pause a "
        "moment after each sentence: it appears, then its picture."
    )
    if st.button(
        "Begin the live story",
        icon=":material/mic:",
        type="primary",
        key="c_live_begin",
        disabled=bool(problem),
    ):
        begin(settings, library)


def insecure_page() -> str:
    """Why this page cannot stream the microphone, when the server can tell already: browsers
    allow it only on HTTPS pages (or on this computer itself)."""
    url = urlsplit(str(st.context.url or ""))
    local = (url.hostname or "localhost") in ("localhost", "127.0.0.1", "::1")
    if url.scheme == "http" and not local:
        return (
            "This page is not served over HTTPS, so a tablet's browser will not let it use the "
            "microphone. Start the app with make run-lan (HTTPS), or switch off Tell it live "
            "and record the story, then upload it."
        )
    return ""


def begin(settings: Settings, library: Library) -> None:
    title = state.get("c_title", "").strip()
    if not title:
        st.error("Give the story a title.", icon=":material/front_hand:")
        return
    language = state.get("c_language", "auto")
    language = None if language == "auto" else language
    try:
        runtime = runtime_for(settings)  # the model and picture client the app's jobs use
        with st.spinner("Getting the speech model ready…"):
            engine = runtime.speech_engine()
        backend = runtime.picture_backend()
        live = start_live_story(library, settings, story_options(settings, library), engine,
                                backend, language)  # fmt: skip
    except S2IError as error:
        widgets.show_error(error)
        return
    LIVE.add(live)
    state[LIVE_KEY] = live.story_id
    drafts.begin(Draft(live.story_id, [], language or "", generated=True))
    st.rerun()


def story_options(settings: Settings, library: Library) -> StoryOptions:
    return StoryOptions(
        title=state.get("c_title", "").strip(),
        class_name=state.get("c_class", ""),
        style=state.get("c_style", DEFAULT_STYLE),
        characters=state.get("c_characters", ""),
        image_params=picture_options.chosen_params(settings),
        blocklist=parse_blocklist(
            state.get("c_blocklist", ", ".join(classroom_word_list(library)))
        ),
        owner=roles.owner(settings),  # the signed-in teacher's story, as a recorded one is
    )


def step(found: tuple[str, LiveStory], settings: Settings, library: Library) -> None:
    token, live = found
    st.subheader("Telling it live")
    config = {"path": _url_path(f"/api/live/{token}")}
    html = COMPONENT.read_text(encoding="utf-8").replace("__CONFIG__", json.dumps(config))
    st.iframe(html, height=640)
    watch(live.story_id, settings, library)


@st.fragment(run_every=REFRESH_SECONDS)
def watch(story_id: int, settings: Settings, library: Library) -> None:
    found = LIVE.of_story(story_id)
    live_state = LiveState.read(library, story_id)
    if found and not found[1].finished.is_set():
        st.caption(
            "Cannot use the microphone here? Stop, then switch off Tell it live to record the "
            "story or upload a file instead. What was heard so far stays in the library."
        )
        return
    if live_state is not None and live_state.suggestions:
        suggestions(story_id, settings, library)
    if st.button("Open the storyboard", icon=":material/grid_view:", key="c_live_done"):
        state.pop(LIVE_KEY, None)
        drafts.replace_draft(drafts.reopen(library, story_id))
        st.rerun()


def suggestions(story_id: int, settings: Settings, library: Library) -> None:
    """Sentences the whole recording reads differently: take the new one (its picture is drawn
    again) or keep the live one. Nothing changes without the teacher."""
    live_state = LiveState.read(library, story_id)
    if live_state is None or not live_state.suggestions:
        return
    story = library.get_story(story_id)
    frames = {f.id: f for f in story.frames}
    st.markdown("**Heard again, the whole story reads some sentences differently:**")
    for suggestion in live_state.suggestions:
        frame = frames.get(suggestion.frame_id)
        if frame is None:
            continue
        with st.container(border=True, key=f"c_heard_again_{frame.id}"):
            st.markdown(
                f"Sentence {frame.index + 1}, live: “{widgets.plain(frame.text)}”  \n"
                f"Heard again: “{widgets.plain(suggestion.text)}”"
            )
            row = st.container(horizontal=True)
            if row.button("Use the new sentence and redraw", key=f"c_take_{frame.id}"):
                roles.require_teacher(settings, "fix sentences", story_id)
                storyboard.fix_frame(library, settings, story, frame, suggestion.text, None)
                library.update_frame_text(frame.id, words=suggestion.words)
                live_state.without(frame.id).write(library, story_id)
                st.rerun()
            if row.button("Keep the live sentence", key=f"c_keep_{frame.id}"):
                live_state.without(frame.id).write(library, story_id)
                st.rerun()


def _url_path(path: str) -> str:
    """``path`` under the base URL the app is served at (as s2i_ui/server.py's routes are)."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{path}" if base else path
