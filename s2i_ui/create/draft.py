"""What the Create page is working on, kept in the browser session as typed objects.

The library is the record: the story, its narration and every sentence edit are saved there as
they happen. The session only remembers which story is being made and how far along it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from s2i_core.editing import sentence_of
from s2i_core.errors import StoryNotFoundError
from s2i_core.jobs import JobBook
from s2i_core.speech import uncertain_language
from s2i_core.storage import Library, parse_id
from s2i_core.story.sentences import Sentence

from .. import resources, roles
from ..i18n import _

DRAFT_KEY = "draft"
NARRATION_KEY = "narration"
QUERY_KEY = "draft"


@dataclass(frozen=True)
class Narration:
    """Audio chosen for a story that is not transcribed yet."""

    data: bytes
    name: str  # file name as given ("recording.webm" for the microphone)
    source: str  # what produced it (an upload's file id, a recording's id, "sample"): new or not

    @property
    def suffix(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower()


@dataclass
class Draft:
    """A transcribed story on its way to a storyboard; saved in the library as ``story_id``."""

    story_id: int
    sentences: list[Sentence]  # as on screen and in the library, edits included
    language: str  # Whisper's language code of the narration ("en", "de", ...)
    language_uncertain: bool = False  # detected with a low probability: ask the teacher
    version: int = 0  # bumped by merge, split and delete so the sentence widgets start afresh
    generated: bool = False  # pictures were asked for: the page shows the storyboard
    transcribing: bool = False  # a worker is still hearing the narration (or it stopped half-way)

    @property
    def translated(self) -> bool:
        """Not English: each sentence also has an English line for its picture."""
        return not self.language.lower().startswith("en")


def current(library: Library) -> Draft | None:
    """This session's draft; after a reload, the one the address names (``?draft=<story id>``)."""
    draft = st.session_state.get(DRAFT_KEY)
    if draft is None and QUERY_KEY in st.query_params:
        draft = reopen(library, parse_id(st.query_params[QUERY_KEY]) or 0)
        if draft is None:
            del st.query_params[QUERY_KEY]
            st.info(
                _("That draft was not found; it may have been deleted. Start a new story here.")
            )
        else:
            st.session_state[DRAFT_KEY] = draft
    return draft


def reopen(library: Library, story_id: int) -> Draft | None:
    try:
        story = library.get_story(story_id)
    except StoryNotFoundError:
        return None
    if not roles.may_edit(resources.settings(), story):  # another teacher's: as if not there
        return None
    hearing = any(j.kind == "transcribe" for j in JobBook(library).of_story(story.id, True))
    return Draft(
        story.id,
        [sentence_of(frame) for frame in story.frames],
        story.language,
        generated=any(frame.status != "pending" for frame in story.frames),
        transcribing=story.sentences_missing or hearing,
        language_uncertain=uncertain_language(story.language_probability),
    )


def begin(draft: Draft) -> None:
    st.session_state[DRAFT_KEY] = draft
    st.session_state.pop(NARRATION_KEY, None)
    st.query_params[QUERY_KEY] = str(draft.story_id)  # a reload comes back to this draft


def replace_draft(draft: Draft | None) -> None:
    """The session's draft, read again from the library (after a worker changed it)."""
    if draft is None:
        start_over()
    else:
        st.session_state[DRAFT_KEY] = draft


def narration() -> Narration | None:
    return st.session_state.get(NARRATION_KEY)


def set_narration(narration: Narration) -> None:
    st.session_state[NARRATION_KEY] = narration


def start_over() -> None:
    """Forget the draft in this session (it stays in the library) and show step 1 again."""
    for key in (NARRATION_KEY, DRAFT_KEY):
        st.session_state.pop(key, None)
    st.query_params.pop(QUERY_KEY, None)
