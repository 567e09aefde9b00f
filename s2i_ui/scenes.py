"""The story bible and the frames' English lines and scenes, shown to the teacher and editable.

The scene writer runs on the workers (a "scenes" job, s2i_core.jobs): it starts the first time a
draft's sentences are shown (right after transcription) and has usually finished by the time
the teacher presses "Generate"; the page shows its scenes as soon as they are saved.
"""

from __future__ import annotations

import streamlit as st

from s2i_core import jobs
from s2i_core.errors import S2IError
from s2i_core.i18n import N_
from s2i_core.settings import Settings
from s2i_core.storage import FrameRecord, Library, StoryRecord
from s2i_core.story.bible import LLM, OFFLINE, TEACHER, Character, StoryBible
from s2i_core.story.revisions import save_bible
from s2i_core.story.scenes import scene_path, shown_scene, story_bible

from . import conflicts, roles, widgets
from .i18n import _, tr

SOURCE_LABELS = {
    LLM: N_("written by the scene writer"),
    OFFLINE: N_("Whisper's English line"),
    TEACHER: N_("written by you"),
}


def write_in_background(library: Library, settings: Settings, story: StoryRecord) -> None:
    """Queue the scene writer once per transcription of a draft; while it writes, look every
    second and show its scenes (the whole page again) once they are saved."""
    history = jobs.JobBook(library).of_story(story.id)
    heard = max((j.id for j in history if j.kind == "transcribe"), default=0)
    writing = [j for j in history if j.kind == "scenes" and j.id > heard]
    if not writing and any(not f.scene_source for f in story.frames):
        try:
            writing = [jobs.queue_scenes(settings, library, story.id)]
        except S2IError as error:
            widgets.show_error(error)
            return
    watcher = st.container()  # always drawn: the sentences below keep their places when it goes
    if any(j.active for j in writing):
        with watcher:
            _rerun_when_written(library, story.id)


@st.fragment(run_every=1.0)
def _rerun_when_written(library: Library, story_id: int) -> None:
    if not _writing(library, story_id):
        widgets.rerun_page()


def _writing(library: Library, story_id: int) -> bool:
    return any(j.kind == "scenes" for j in jobs.JobBook(library).of_story(story_id, True))


def writer_status(library: Library, settings: Settings, story: StoryRecord) -> None:
    """Which path wrote (or is writing) the scenes, in one line."""
    path, notice = scene_path(story)
    if not path:  # one element either way, so what follows keeps its place when the writer ends
        waiting = jobs.progress(library, story.id).writer_waiting
        if waiting is not None:
            st.caption(":material/hourglass_top: " + tr(waiting.detail))
        elif _writing(library, story.id):
            st.caption(":material/hourglass_top: " + _("The scene writer is reading the story…"))
        else:
            st.empty()
        return
    if path == LLM:
        st.caption(":material/auto_awesome: " + _("Scenes by the scene writer."))
    else:
        st.caption(
            ":material/info: " + tr(notice) if notice else _("Scenes are the English lines.")
        )


def bible_editor(library: Library, settings: Settings, story: StoryRecord, key: str) -> None:
    """Characters with their looks and the setting: used by every picture and every redo."""
    bible = story_bible(story)
    writer_status(library, settings, story)
    with st.expander(_("Characters and setting (used in every picture)"), expanded=False):
        fields = (f"bible_chars_{key}", f"bible_setting_{key}")
        base = conflicts.detail_base(story, f"bible_{key}", _untouched(key), fields)
        rows = [{"name": c.name, "look": c.look} for c in story_bible(base).characters]
        edited = st.data_editor(
            rows or [{"name": "", "look": ""}],
            num_rows="dynamic",
            column_config={
                "name": st.column_config.TextColumn(_("Name"), max_chars=80),
                "look": st.column_config.TextColumn(
                    _("How they look"), max_chars=300, width="large"
                ),
            },
            key=f"bible_chars_{key}",
            width="stretch",
        )
        setting = st.text_input(
            _("Setting"), story_bible(base).setting, max_chars=300, key=f"bible_setting_{key}"
        )
        if st.button(_("Save characters and setting"), key=f"bible_save_{key}"):
            roles.require_teacher(settings, _("edit the story bible"), story.id)
            if hasattr(edited, "to_dict"):  # a DataFrame, in Streamlit versions that give one
                edited = edited.to_dict("records")
            characters = tuple(
                Character(
                    " ".join(str(r.get("name") or "").split()),
                    " ".join(str(r.get("look") or "").split()),
                )
                for r in edited
                if str(r.get("name") or "").strip()
            )
            bible = StoryBible(characters, " ".join(setting.split()), TEACHER)
            if conflicts.save_detail(f"bible_{key}", base, _save_bible(library), bible):
                for field in fields:  # they show the saved bible on the next run
                    st.session_state.pop(field, None)
                widgets.notify(
                    _(
                        "The characters and setting are saved. Every picture drawn from now on "
                        "uses them."
                    )
                )
            st.rerun()
        conflicts.waiting_detail(f"bible_{key}", _save_bible(library), fields)


def _untouched(key: str):
    """Whether the teacher left the bible's fields as the story they were filled from had them."""

    def untouched(base: StoryRecord) -> bool:
        edits = st.session_state.get(f"bible_chars_{key}")
        edits = edits if isinstance(edits, dict) else {}
        setting = st.session_state.get(f"bible_setting_{key}", story_bible(base).setting)
        return not any(
            edits.get(kind) for kind in ("edited_rows", "added_rows", "deleted_rows")
        ) and (setting == story_bible(base).setting)

    return untouched


def _save_bible(library: Library) -> conflicts.Save:
    def save(based_on: StoryRecord, bible: StoryBible | dict) -> None:
        if isinstance(bible, dict):  # kept from a conflict, as saved
            bible = StoryBible.from_json(bible)
        save_bible(library, based_on, bible)

    return save


def written_by(frame: FrameRecord, story: StoryRecord) -> str:
    """Which path wrote the words this frame's picture is drawn from, in one line."""
    if frame.scene_source in SOURCE_LABELS:
        return ":material/draw: " + _("Scene {source}", source=_(SOURCE_LABELS[frame.scene_source]))
    if frame.prompt.strip():
        english = story.language.lower().startswith("en") or not story.language
        source = _("the sentence") if english else _("Whisper's English line")
        return ":material/draw: " + _("Scene: {source}", source=source)
    return ":material/hourglass_top: " + _("No English words yet: this picture waits for them")


def scene_field(frame: FrameRecord, key: str) -> str:
    """One frame's scene, editable; says who wrote it."""
    source = SOURCE_LABELS.get(frame.scene_source, "")
    return st.text_area(
        _("What the picture shows (the scene)"),
        shown_scene(frame),
        key=f"scene_{key}",
        height=90,
        help=_(
            "Now: {source}. Change it to redraw the picture from your words; change the "
            "sentence instead and the scene is written again.",
            source=_(source),
        )
        if source
        else None,
    )
