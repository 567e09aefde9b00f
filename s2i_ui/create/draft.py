"""What the Create page is working on, kept in the browser session as typed objects.

The library is the record: the story, its narration and every sentence edit are saved there as
they happen. The session only remembers which story is being made and how far along it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import streamlit as st

from s2i_core.editing import sentence_of
from s2i_core.errors import StoryNotFoundError
from s2i_core.jobs import JobBook
from s2i_core.speech import uncertain_language
from s2i_core.storage import FrameRecord, Library, StoryRecord, parse_id
from s2i_core.story.revisions import Conflict
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
    # the frames the sentences were read from, as this page read them: what a save is based on
    # (None: not read yet, see tie)
    base: dict[int, FrameRecord] | None = None
    # another teacher saved the same sentences first: what each wrote, and this teacher's
    # sentences waiting for their choice (story.revisions)
    conflicts: tuple[Conflict, ...] = ()
    mine: list[Sentence] | None = None
    # sentences whose fields must show what is saved now, by place (set before they are drawn)
    refresh: dict[int, Sentence] = field(default_factory=dict)

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


def tie(draft: Draft, story: StoryRecord) -> None:
    """Tie the draft's sentences to the frames they are saved in, once: a draft begun before
    they were read (by position) gets their ids and versions."""
    if draft.base is not None:
        return
    frames = story.frames
    if any(s.frame_id is None for s in draft.sentences) and len(frames) == len(draft.sentences):
        draft.sentences = [
            replace(s, frame_id=f.id) for s, f in zip(draft.sentences, frames, strict=True)
        ]
    ids = {s.frame_id for s in draft.sentences}
    draft.base = {f.id: f for f in frames if f.id in ids}


def adopt(draft: Draft, story: StoryRecord) -> bool:
    """The draft as saved now (every teacher's changes in it); True when the page must show
    other sentences than it does: the same sentences with other words are refreshed in place
    (``refresh``, what is being typed elsewhere stays), others get fresh fields."""
    sentences = [sentence_of(frame) for frame in story.frames]
    same_places = [s.frame_id for s in draft.sentences] == [s.frame_id for s in sentences]
    changed = {
        n: new
        for n, (old, new) in enumerate(zip(draft.sentences, sentences, strict=False))
        if (old.text, old.text_en) != (new.text, new.text_en)
    }
    draft.sentences, draft.base = sentences, {f.id: f for f in story.frames}
    draft.conflicts, draft.mine = (), None
    if not same_places:
        draft.version += 1
        draft.refresh = {}
        return True
    draft.refresh.update(changed)
    return bool(changed)


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
