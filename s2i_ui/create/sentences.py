"""Step 3 of the Create page: the teacher checks the sentences (edit, merge, split, delete).

Every change is saved to the library as it happens.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from s2i_core import editing, jobs
from s2i_core.errors import S2IError
from s2i_core.settings import Settings
from s2i_core.storage import Library, StoryRecord
from s2i_core.story.bible import LLM
from s2i_core.story.sentences import Sentence
from s2i_ui import characters, i18n, languages, roles, scenes, storyboard, widgets
from s2i_ui.i18n import _, tr

from .draft import Draft


def step(draft: Draft, settings: Settings, library: Library) -> None:
    story = library.get_story(draft.story_id)
    st.subheader(_("3 · Check the sentences"))
    language_notice(draft, settings, library)
    st.caption(
        _(
            "Each sentence becomes one picture. Fix what the computer misheard, then generate. "
            "To split a sentence at a chosen place, type {mark} there first.",
            mark=editing.SPLIT_MARK,
        )
    )
    scenes.write_in_background(library, settings, story)  # the writer reads meanwhile
    take_english_lines(draft, story)
    sentences = draft.sentences
    edited = list(sentences)
    for n, sentence in enumerate(sentences):
        key = f"{draft.version}_{n}"
        with st.container(border=True):
            edited = sentence_box(draft, n, sentence, key, edited)
            scene_line(story, n, edited[n] if n < len(edited) else sentence)
            row = st.container(horizontal=True)
            if row.button(
                _("Merge with next"), key=f"merge_{key}", disabled=n + 1 == len(sentences)
            ):
                apply(draft, story, editing.merge_with_next(edited, n), settings, library)
            if row.button(
                _("Split"), key=f"split_{key}", disabled=len(sentences) >= settings.max_frames
            ):
                apply(draft, story, editing.split(edited, n), settings, library)
            if row.button(_("Delete"), key=f"delete_{key}", disabled=len(sentences) == 1):
                apply(draft, story, editing.delete(edited, n), settings, library)
    if edited != sentences:
        storyboard.save_sentences(library, settings, story, edited)
        draft.sentences = edited
    scenes.bible_editor(library, settings, library.get_story(story.id), "draft")
    characters.sheet_panel(library, settings, library.get_story(story.id), "draft")
    if st.button(
        _("Generate storyboard"), icon=":material/palette:", type="primary", key="c_generate"
    ):
        draft.generated = True
        storyboard.request_generation(settings, library.get_story(story.id), scenes_first=True)


def scene_line(story: StoryRecord, n: int, sentence: Sentence) -> None:
    """What this sentence's picture will show and which path wrote it (editable on the
    storyboard)."""
    frame = story.frames[n] if n < len(story.frames) else None
    if frame is None or frame.text != sentence.text:
        return
    if frame.scene_source == LLM:
        st.caption(":material/image: " + _("Picture: {scene}", scene=widgets.plain(frame.scene)))
    elif frame.scene_source or not frame.prompt.strip():
        st.caption(scenes.written_by(frame, story))


def take_english_lines(draft: Draft, story: StoryRecord) -> None:
    """The scene writer's English lines, once saved, replace Whisper's on screen (same sentences
    only: the teacher's own edits are saved as they are typed, so the library has them too).
    Only the English fields change: a sentence the teacher is typing when they arrive stays."""
    frames = story.frames
    if [f.text for f in frames] != [s.text for s in draft.sentences]:
        return
    if [f.text_en for f in frames] != [s.text_en for s in draft.sentences]:
        draft.sentences = [
            replace(s, text_en=f.text_en) for s, f in zip(draft.sentences, frames, strict=True)
        ]
        if draft.translated:
            for n, frame in enumerate(frames):
                st.session_state[english_key(draft, n)] = frame.text_en


def english_key(draft: Draft, n: int) -> str:
    return f"sent_en_{draft.version}_{n}"


def language_notice(draft: Draft, settings: Settings, library: Library) -> None:
    """The language the narration was heard in, and a way to correct it: choose the language
    and a worker transcribes the saved narration again (its sentences are replaced)."""
    name = i18n.language(draft.language)
    failed = failed_hearing(library, draft.story_id)
    if failed is not None:
        asked = i18n.language(failed.spec.language)  # type: ignore[attr-defined]
        st.error(
            _(
                "Transcribing it again in {asked} did not work: {error} The sentences below are "
                "the ones heard before, in {language}; nothing was lost.",
                asked=asked,
                error=tr(failed.error),
                language=name,
            ),
            icon=":material/error:",
        )
    if draft.language_uncertain:
        st.warning(
            _("Heard as **{language}**, but the computer is not sure.", language=name),
            icon=":material/translate:",
        )
    else:
        st.caption(_("Heard as {language}.", language=name))
    with st.expander(_("Not right? Choose the language and transcribe again")):
        chosen = languages.pick(
            _("Language of the narration"), f"c_relanguage_{draft.story_id}", draft.language
        )
        if st.button(_("Transcribe again"), icon=":material/refresh:", key="c_transcribe_again"):
            roles.require_teacher(settings, _("transcribe again"), draft.story_id)
            if chosen is None:
                st.error(_("Choose the language the story is told in first."))
                return
            try:
                jobs.transcribe_again(settings, library, draft.story_id, chosen)
            except S2IError as error:
                widgets.show_error(error)
                return
            draft.transcribing = True  # the sentences stay until the new ones are all heard
            st.rerun()


def failed_hearing(library: Library, story_id: int) -> jobs.JobRecord | None:
    """The story's last transcription, when it was a hearing again that failed (its sentences
    are the ones from before)."""
    heard = [j for j in jobs.JobBook(library).of_story(story_id) if j.kind == "transcribe"]
    last = heard[-1] if heard else None
    again = last is not None and last.spec.replace_sentences  # type: ignore[attr-defined]
    return last if again and last.state == "failed" else None


def sentence_box(
    draft: Draft, n: int, sentence: Sentence, key: str, edited: list[Sentence]
) -> list[Sentence]:
    """One sentence's fields; returns the sentence list with this sentence's typed edit applied."""
    st.caption(
        _(
            "Sentence {number} · {start}–{end}",
            number=n + 1,
            start=widgets.clock(sentence.start),
            end=widgets.clock(sentence.end),
        )
    )
    text = st.text_area(
        _("Sentence {number}", number=n + 1),
        sentence.text,
        key=f"sent_{key}",
        label_visibility="collapsed",
        height=68,
    )
    text_en = None
    if draft.translated:
        st.session_state.setdefault(english_key(draft, n), sentence.text_en)
        text_en = st.text_input(
            _("In English, for the picture"),
            key=english_key(draft, n),
            placeholder=_(
                "Whisper's English could not be trusted: type it, or let the scene writer write it"
            ),
        )
    if " ".join(text.split()) != sentence.text or (
        text_en is not None and text_en != sentence.text_en
    ):
        if text.strip():
            return editing.edit_text(edited, n, text, text_en)
        st.error(_("A sentence cannot be empty. Use Delete to remove it."))
    return edited


def apply(
    draft: Draft,
    story: StoryRecord,
    sentences: list[Sentence],
    settings: Settings,
    library: Library,
) -> None:
    storyboard.save_sentences(library, settings, story, sentences)
    draft.sentences = sentences
    draft.version += 1  # fresh widgets showing the new texts
    st.rerun()
