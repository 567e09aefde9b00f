"""Create a story (teacher): details and narration → check the sentences → the storyboard.

The draft story and its narration are saved the moment transcription finishes; every sentence
edit and every picture is saved as it happens, so closing the tab loses nothing already made.
Each step lives in s2i_ui.create.
"""

import streamlit as st

from s2i_core.errors import StoryNotFoundError
from s2i_ui import resources, widgets
from s2i_ui.create import draft as drafts
from s2i_ui.create import listening, live, pictures, record, sentences

settings = resources.settings()
st.title("Create a story")
widgets.teacher_gate(settings, "create stories")
library = resources.library(settings)

draft = drafts.current(library)
telling = live.current(library)
step = (
    "live"
    if telling
    else "record"
    if draft is None
    else "listening"
    if draft.transcribing
    else "pictures"
    if draft.generated
    else "sentences"
)
# One keyed container per step: the step before is replaced at once, not left faded on screen
# while a long step (drawing the pictures) runs.
with st.container(key=f"create_{step}"):
    if telling:
        live.step(telling, settings, library)
    elif draft is None:
        if live.offer():
            live.setup(settings, library)
        else:
            record.step(settings, library)
    else:
        try:
            title = library.get_story(draft.story_id).title
        except StoryNotFoundError:  # deleted from the library meanwhile
            drafts.start_over()
            st.rerun()
        saved_as = "" if draft.generated else " as a draft"
        st.success(
            f"**{widgets.plain(title)}** is saved in the library{saved_as}.",
            icon=":material/save:",
        )
        if draft.transcribing:
            listening.step(draft, settings, library)
        elif draft.generated:
            pictures.step(draft, settings, library)
        else:
            sentences.step(draft, settings, library)
            st.button(
                "Start a new story instead",
                on_click=drafts.start_over,
                key="c_restart",
                help="This draft stays in the library.",
            )
