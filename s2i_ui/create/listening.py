"""Between steps 2 and 3 of the Create page: a worker transcribes the narration.

The story and its narration are saved before the job is queued, so leaving, reloading or closing
the page loses nothing: the sentences appear here (and in the library) as they are heard, and the
address (``?draft=<story id>``) brings the teacher back to them.
"""

from __future__ import annotations

import streamlit as st

from s2i_core import jobs
from s2i_core.errors import S2IError
from s2i_core.settings import Settings
from s2i_core.speech import uncertain_language
from s2i_core.storage import Library
from s2i_ui import languages, roles, widgets
from s2i_ui.i18n import _, tr

from . import draft as drafts
from .draft import Draft

REFRESH_SECONDS = 1.0


def step(draft: Draft, settings: Settings, library: Library) -> None:
    st.subheader(_("Transcribing the narration"))
    state = jobs.progress(library, draft.story_id)
    if hearing(state) is not None:
        watch(draft.story_id, library, settings)
    elif state.story.sentences_missing:
        # it stopped (an error, a cancel, a worker that died and gave up): drawn once, outside
        # the refreshing part, so the language picker stays open while the teacher chooses
        stopped(draft.story_id, library, settings, state)
    else:
        heard(draft.story_id, library)


def heard(story_id: int, library: Library) -> None:
    """Done, or a hearing again that failed (its sentences stayed): on to the sentences."""
    drafts.replace_draft(drafts.reopen(library, story_id))
    st.rerun()


def hearing(state: jobs.StoryProgress) -> jobs.JobRecord | None:
    return next((j for j in reversed(state.jobs) if j.kind == "transcribe"), None)


@st.fragment(run_every=REFRESH_SECONDS)
def watch(story_id: int, library: Library, settings: Settings) -> None:
    state = jobs.progress(library, story_id)
    job = hearing(state)
    if job is None:
        widgets.rerun_page()  # the whole page: the sentences, or why it stopped
        return
    again = job.spec.replace_sentences  # type: ignore[attr-defined]
    with st.status(tr(state.summary), state="running", expanded=True):
        if job.state == "queued":
            st.write(tr(job.detail) + "…")  # a worker to start, or the job queue to come back
        elif again or not state.story.frames:
            st.write(tr(job.detail) + "…")
        for frame in [] if again else state.story.frames:  # again: those are the old ones
            st.write(f"{widgets.clock(frame.start)} · {widgets.plain(frame.text)}")
    if st.button(_("Cancel"), icon=":material/stop_circle:", key="c_cancel_transcription"):
        roles.require_teacher(settings, _("cancel transcriptions"), story_id)
        jobs.cancel(library, story_id)
        st.rerun()


def stopped(story_id: int, library: Library, settings: Settings, state: jobs.StoryProgress) -> None:
    """Why the transcription stopped, and the way on: the language picker right there (a
    misheard language asks for it), transcribe again, or start over."""
    last = state.last
    if last is not None and last.state == "failed":
        st.error(tr(last.error), icon=":material/error:")
    else:
        st.info(_("The transcription was stopped."), icon=":material/stop_circle:")
    story = state.story
    guessed = uncertain_language(story.language_probability)
    language = languages.pick(
        _("Language of the narration"),
        f"c_again_language_{story_id}",
        None if guessed else story.language or "auto",
        detect=not guessed,  # detecting it again would mishear it again
    )
    again, over = st.columns(2)
    if again.button(
        _("Transcribe again"), icon=":material/replay:", key="c_again", width="stretch"
    ):
        roles.require_teacher(settings, _("transcribe stories"), story_id)
        if language is None and guessed:
            st.error(
                _("Choose the language the story is told in first."), icon=":material/translate:"
            )
            return
        try:
            jobs.queue_transcription(settings, library, story_id, language)
        except S2IError as error:
            widgets.show_error(error)
            return
        st.rerun()
    if over.button(_("Start over"), icon=":material/add:", key="c_over", width="stretch"):
        if not state.story.frames and not heard_before(library, story_id):
            library.delete_story(story_id)  # nothing was ever heard: nothing worth keeping
        drafts.start_over()
        st.rerun()


def heard_before(library: Library, story_id: int) -> bool:
    """A draft being transcribed again (in another language) stays in the library."""
    return any(
        j.kind == "transcribe" and j.state == "done"
        for j in jobs.JobBook(library).of_story(story_id)
    )
