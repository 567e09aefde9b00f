"""Pictures that wait for English words, and the teacher's way past the wait.

A picture is drawn from English words: the scene writer's scene, or Whisper's English line when
it could be trusted (s2i_core.speech.english_lines). While the scene writer is down its job waits
on the queue and asks again ("Pictures wait for the scene writer; retrying in 30 s"); a sentence
whose English line was left out waits for it, or for the teacher. "Draw from my own words" lets
the teacher type (or accept) an English line for each waiting picture and draws it at once.
"""

from __future__ import annotations

import streamlit as st

from s2i_core import jobs
from s2i_core.errors import S2IError
from s2i_core.settings import Settings
from s2i_core.storage import FrameRecord, Library
from s2i_core.story.scenes import set_frame_scene

from . import roles, widgets

DRAWN = ("done", "drawing")


def waiting_frames(state: jobs.StoryProgress) -> list[FrameRecord]:
    """The frames whose picture waits for English words: for a scene writer that is down,
    those it is to write; once no writer is at work, those with no words to draw from."""
    frames = [f for f in state.story.frames if f.status not in DRAWN]
    writer = state.writer_waiting
    if writer is not None:
        chosen = writer.spec.frames  # type: ignore[attr-defined]
        return [f for f in frames if not f.scene_source and (chosen is None or f.id in chosen)]
    if any(j.kind in ("scenes", "transcribe") for j in state.jobs):
        return []  # being written or heard right now
    return [f for f in frames if not f.prompt.strip()]


def panel(library: Library, settings: Settings, state: jobs.StoryProgress) -> None:
    """What the waiting pictures wait for, and "Draw from my own words" (teacher)."""
    frames = waiting_frames(state)
    if not frames:
        return
    writer = state.writer_waiting
    count = f"{len(frames)} picture{'s' if len(frames) > 1 else ''}"
    if writer is not None:
        st.info(writer.detail, icon=":material/hourglass_top:")
    else:
        st.warning(
            f"{count} wait for an English line: Whisper's English for "
            f"{'their sentences' if len(frames) > 1 else 'its sentence'} could not be trusted, "
            "and the scene writer did not write one.",
            icon=":material/translate:",
        )
    key = f"own_words_{state.story.id}"
    if st.button("Draw from my own words", icon=":material/edit_note:", key=f"{key}_open"):
        roles.require_teacher(settings, "write scenes", state.story.id)
        st.session_state[key] = True
    if st.session_state.get(key):
        own_words_form(library, settings, state, frames, key)


def own_words_form(
    library: Library,
    settings: Settings,
    state: jobs.StoryProgress,
    frames: list[FrameRecord],
    key: str,
) -> None:
    with st.form(f"{key}_form", border=True):
        st.caption(
            "Say in English what each picture should show (the sentence in English is enough). "
            "A line left empty keeps waiting."
        )
        typed = {}
        for frame in frames:
            st.markdown(f"**Sentence {frame.index + 1}:** {widgets.plain(frame.text)}")
            typed[frame.id] = st.text_input(
                f"Sentence {frame.index + 1} in English, for the picture",
                frame.text_en,
                max_chars=400,
                key=f"{key}_{frame.id}",
            )
        if st.form_submit_button("Draw these pictures", type="primary"):
            roles.require_teacher(settings, "write scenes", state.story.id)
            draw_from_words(library, settings, state, {i: t for i, t in typed.items() if t.strip()})


def draw_from_words(
    library: Library, settings: Settings, state: jobs.StoryProgress, typed: dict[int, str]
) -> None:
    """The teacher's lines become those frames' scenes ("written by you") and they are drawn
    now; a scene writer left with nothing to write stops waiting."""
    if not typed:
        st.error("Type an English line for at least one picture.", icon=":material/edit_note:")
        return
    story = state.story
    for frame_id, english in typed.items():
        line = " ".join(english.split())
        set_frame_scene(library, story.id, frame_id, line, line)
    writer = state.writer_waiting
    left = [f for f in waiting_frames(jobs.progress(library, story.id)) if f.id not in typed]
    try:
        if writer is not None and not left:
            jobs.JobBook(library).cancel_job(writer.id)  # nothing left for it to write
            jobs.queue_pictures(settings, library, library.get_story(story.id))
        else:
            jobs.queue_pictures(settings, library, library.get_story(story.id), list(typed))
    except S2IError as error:
        widgets.show_error(error)
        return
    st.session_state.pop(f"own_words_{story.id}", None)
    widgets.notify("Your words are saved; those pictures are being drawn.")
    st.rerun()
