"""The story bible and the frames' English lines and scenes, shown to the teacher and editable.

The scene writer starts in the background the first time a draft's sentences are shown (right
after transcription) and has usually finished by the time the teacher presses "Generate".
"""

from __future__ import annotations

import streamlit as st

from s2i_core.scenes import LLM, OFFLINE, TEACHER, Character, SceneJob, StoryBible
from s2i_core.settings import Settings
from s2i_core.storage import FrameRecord, Library, StoryRecord
from s2i_core.story_scenes import (
    scene_after_fix,
    scene_path,
    set_bible,
    shown_scene,
    start_scenes,
    story_bible,
    write_story_scenes,
)

from . import roles

JOBS_KEY = "s2i_scene_jobs"
SOURCE_LABELS = {
    LLM: "written by the scene writer",
    OFFLINE: "the English line (offline path)",
    TEACHER: "written by you",
}


def job(settings: Settings, story: StoryRecord) -> SceneJob:
    """This story's scene writer, started once per session."""
    jobs = st.session_state.setdefault(JOBS_KEY, {})
    if story.id not in jobs:
        jobs[story.id] = start_scenes(settings, story)
    return jobs[story.id]


def show_when_written(library: Library, settings: Settings, story: StoryRecord) -> StoryRecord:
    """Save the writer's scenes and bible as soon as it has finished, so the teacher sees them
    before any picture is drawn; until then, check back every second."""
    running = job(settings, story)
    if scene_path(story)[0]:
        return story
    if running.done():
        story, _scenes = write_story_scenes(library, settings, story.id, running)
        return story
    _rerun_when_done(running)
    return story


@st.fragment(run_every=1.0)
def _rerun_when_done(running: SceneJob) -> None:
    if running.done():
        st.rerun(scope="app")


def write_before_pictures(library: Library, settings: Settings, story: StoryRecord) -> None:
    """At "Generate": the writer's scenes (waited for at most ``llm_timeout``), saved."""
    roles.require_teacher(settings, "write scenes")
    with st.spinner("Writing a scene for every picture…"):
        _story, scenes = write_story_scenes(library, settings, story.id, job(settings, story))
    notice(settings, scenes.notice)


def notice(settings: Settings, text: str) -> None:
    """Tell the teacher why the writer fell back, when it was meant to run (not when it is off
    or there is no key: the pages say that already)."""
    if text and settings.has_scene_writer:
        st.session_state.setdefault("s2i_notices", []).append(text)


def writer_status(settings: Settings, story: StoryRecord) -> None:
    """Which path wrote (or is writing) the scenes, in one line."""
    path, notice = scene_path(story)
    if not path:
        running = st.session_state.get(JOBS_KEY, {}).get(story.id)
        if running is not None and not running.done():
            st.caption(":material/hourglass_top: The scene writer is reading the story…")
        return
    if path == LLM:
        st.caption(f":material/auto_awesome: Scenes by the scene writer ({settings.llm_model}).")
    else:
        st.caption(f":material/info: {notice}" if notice else "Scenes are the English lines.")


def bible_editor(library: Library, settings: Settings, story: StoryRecord, key: str) -> None:
    """Characters with their looks and the setting: used by every picture and every redo."""
    bible = story_bible(story)
    writer_status(settings, story)
    with st.expander("Characters and setting (used in every picture)", expanded=False):
        rows = [{"name": c.name, "look": c.look} for c in bible.characters]
        edited = st.data_editor(
            rows or [{"name": "", "look": ""}],
            num_rows="dynamic",
            column_config={
                "name": st.column_config.TextColumn("Name", max_chars=80),
                "look": st.column_config.TextColumn("How they look", max_chars=300, width="large"),
            },
            key=f"bible_chars_{key}",
            width="stretch",
        )
        setting = st.text_input("Setting", bible.setting, max_chars=300, key=f"bible_setting_{key}")
        if st.button("Save characters and setting", key=f"bible_save_{key}"):
            roles.require_teacher(settings, "edit the story bible")
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
            set_bible(library, story.id, StoryBible(characters, " ".join(setting.split()), TEACHER))
            st.toast("Saved. Every picture drawn from now on uses them.")
            st.rerun()


def scene_field(frame: FrameRecord, key: str) -> str:
    """One frame's scene, editable; says who wrote it."""
    source = SOURCE_LABELS.get(frame.scene_source, "")
    return st.text_area(
        "What the picture shows (the scene)",
        shown_scene(frame),
        key=f"scene_{key}",
        height=90,
        help=f"Now: {source}. Change it to redraw the picture from your words; change the "
        "sentence instead and the scene is written again."
        if source
        else None,
    )


def after_fix(
    library: Library,
    settings: Settings,
    story: StoryRecord,
    before: FrameRecord,
    fixed: FrameRecord,
    scene: str,
) -> FrameRecord:
    """The scene to go with a fixed sentence (written again, or the teacher's own)."""
    with st.spinner("Writing the scene…"):
        frame, scenes = scene_after_fix(library, settings, story.id, before, fixed, scene)
    if scenes is not None:
        notice(settings, scenes.notice)
    return frame
