"""Step 4 of the Create page: the storyboard fills in, frame by frame, and can be redrawn."""

from __future__ import annotations

import streamlit as st

from s2i_core.settings import Settings
from s2i_core.storage import Library
from s2i_ui import scenes, storyboard, widgets

from . import live
from .draft import Draft, start_over


def step(draft: Draft, settings: Settings, library: Library) -> None:
    story = library.get_story(draft.story_id)
    st.subheader("4 · Storyboard")
    live.suggestions(story.id, settings, library)  # a live story, heard again at the end
    missing = storyboard.missing_frames(story)
    row = st.container(horizontal=True)
    if missing and row.button(f"Draw the missing pictures ({len(missing)})", key="c_missing"):
        storyboard.request_generation(settings, story)
    if row.button("Open the replay", icon=":material/play_circle:", key="c_open"):
        st.switch_page(widgets.STORY_PAGE, query_params={"story": story.id})
    row.button("Start a new story", icon=":material/add:", on_click=start_over, key="c_new")
    scenes.bible_editor(library, settings, story, "storyboard")
    storyboard.storyboard(story, library, settings, controls=True)
