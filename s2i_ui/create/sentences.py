"""Step 3 of the Create page: the teacher checks the sentences (edit, merge, split, delete).

Every change is saved to the library as it happens.
"""

from __future__ import annotations

import streamlit as st

from s2i_core import editing, jobs
from s2i_core.errors import EditConflictError, S2IError
from s2i_core.settings import Settings
from s2i_core.storage import Library, StoryRecord
from s2i_core.story import revisions
from s2i_core.story.bible import LLM
from s2i_core.story.drafts import sentence_of
from s2i_core.story.sentences import Sentence
from s2i_ui import characters, conflicts, i18n, languages, roles, scenes, storyboard, widgets
from s2i_ui.i18n import _, tr

from . import draft as drafts
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
    drafts.tie(draft, story)
    if draft.conflicts:
        settle_conflicts(draft, settings, library)
        return
    take_their_changes(draft, story)
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
                apply(draft, editing.merge_with_next(edited, n), settings, library)
            if row.button(
                _("Split"), key=f"split_{key}", disabled=len(sentences) >= settings.max_frames
            ):
                apply(draft, editing.split(edited, n), settings, library)
            if row.button(_("Delete"), key=f"delete_{key}", disabled=len(sentences) == 1):
                apply(draft, editing.delete(edited, n), settings, library)
    if edited != sentences and save(draft, edited, settings, library):
        st.rerun()  # another teacher's changes came with the save: show them
    scenes.bible_editor(library, settings, library.get_story(story.id), "draft")
    characters.sheet_panel(library, settings, library.get_story(story.id), "draft")
    if st.button(
        _("Generate storyboard"), icon=":material/palette:", type="primary", key="c_generate"
    ):
        draft.generated = True
        storyboard.request_generation(settings, library.get_story(story.id), scenes_first=True)


def save(draft: Draft, sentences: list[Sentence], settings: Settings, library: Library) -> bool:
    """Save the teacher's sentences over the ones this page read; True when the page must show
    other sentences than it does (another teacher's changes merged in). A conflict keeps this
    teacher's sentences and asks what to keep (settle_conflicts)."""
    try:
        saved = storyboard.save_sentences(library, settings, draft.story_id, draft.base, sentences)
    except EditConflictError as error:
        draft.conflicts, draft.mine = error.conflicts, sentences
        st.rerun()
    draft.sentences = sentences
    return drafts.adopt(draft, saved)


def settle_conflicts(draft: Draft, settings: Settings, library: Library) -> None:
    """Another teacher saved some of the same sentences first: each conflict with its choices;
    once every one is chosen, the sentences are saved again."""
    st.warning(
        _(
            "Another teacher saved changes to these sentences while you were editing them. "
            "Nothing was overwritten, and your other changes wait here: choose for each one below."
        ),
        icon=":material/group:",
    )
    for n, conflict in enumerate(draft.conflicts):
        choice = conflicts.choose(conflict, f"{draft.version}_{n}")
        if choice is None:
            continue
        base, mine = revisions.resolve(draft.base or {}, draft.mine or [], conflict, *choice)
        draft.base, draft.mine = base, mine
        draft.conflicts = tuple(c for c in draft.conflicts if c is not conflict)
        if not draft.conflicts:
            save(draft, mine, settings, library)
            draft.version += 1  # fresh fields, showing the sentences as saved
        st.rerun()


def take_their_changes(draft: Draft, story: StoryRecord) -> None:
    """What other teachers (and the scene writer) saved since this page read the sentences,
    shown before the fields are drawn: changed sentences are refreshed in place, except one this
    teacher has just changed too (its save below decides). Sentences added or removed elsewhere
    give fresh fields, unless this teacher has changes on their way."""
    for n, sentence in draft.refresh.items():  # after a save that brought others' words
        show_saved(draft, n, sentence)
    draft.refresh = {}
    base = draft.base or {}
    frames = {f.id: f for f in story.frames}
    if [s.frame_id for s in draft.sentences] != [f.id for f in story.frames]:
        if not any(typed(draft, n, s) for n, s in enumerate(draft.sentences)):
            drafts.adopt(draft, story)
        return
    for n, sentence in enumerate(draft.sentences):
        frame = frames[sentence.frame_id]
        old = base.get(frame.id)
        if old is None or old.version == frame.version or typed(draft, n, sentence):
            continue
        draft.sentences[n] = sentence_of(frame)
        base[frame.id] = frame
        show_saved(draft, n, draft.sentences[n])


def show_saved(draft: Draft, n: int, sentence: Sentence) -> None:
    """Sentence ``n``'s fields show ``sentence`` (before they are drawn in this run)."""
    st.session_state[f"sent_{draft.version}_{n}"] = sentence.text
    st.session_state[english_key(draft, n)] = sentence.text_en


def typed(draft: Draft, n: int, sentence: Sentence) -> bool:
    """Whether this teacher's field for sentence ``n`` holds something not saved yet."""
    text = st.session_state.get(f"sent_{draft.version}_{n}", sentence.text)
    english = st.session_state.get(english_key(draft, n), sentence.text_en)
    return " ".join(str(text).split()) != sentence.text or english != sentence.text_en


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
    st.session_state.setdefault(f"sent_{key}", sentence.text)
    text = st.text_area(
        _("Sentence {number}", number=n + 1),
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


def apply(draft: Draft, sentences: list[Sentence], settings: Settings, library: Library) -> None:
    version = draft.version
    save(draft, sentences, settings, library)
    draft.version = version + 1  # fresh widgets showing the new texts
    draft.refresh = {}
    st.rerun()
