"""The storyboard grid shared by the Create and Story pages, and the teacher actions behind it.

Frames fill the grid as the pipeline saves them. Each action checks the teacher role itself, so
a hidden button is never the only thing keeping a student out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

import streamlit as st

from s2i_core.editing import reword_frame
from s2i_core.errors import EditError, S2IError
from s2i_core.pictures import choose_backend
from s2i_core.pipeline import (
    finish_story,
    frame_drafts,
    generate_story,
    refit_story_params,
    story_params,
)
from s2i_core.prompts import blocked_reason
from s2i_core.sentences import Sentence
from s2i_core.settings import Settings
from s2i_core.storage import FrameRecord, Library, StoryRecord

from . import resources, roles, scenes, widgets

COLUMNS = 3
MISSING = ("pending", "drawing", "failed", "filtered", "no_backend")  # claimed ones are skipped
JOB_KEY = "s2i_generation_job"


def missing_frames(story: StoryRecord) -> list[FrameRecord]:
    return [f for f in story.frames if f.status in MISSING]


def grid_slots(frames: list[FrameRecord]) -> dict[int, st.delta_generator.DeltaGenerator]:
    """One placeholder per frame, in story order, laid out in rows of COLUMNS."""
    slots = {}
    for row_start in range(0, len(frames), COLUMNS):
        columns = st.columns(COLUMNS)
        for column, frame in zip(columns, frames[row_start : row_start + COLUMNS], strict=False):
            slots[frame.id] = column.empty()
    return slots


def save_sentences(
    library: Library, settings: Settings, story: StoryRecord, sentences: list[Sentence]
) -> None:
    """Replace the draft's frames with the edited sentences (before any picture exists)."""
    roles.require_teacher(settings, "edit sentences")
    library.set_frames(story.id, frame_drafts(sentences, story))
    library.update_story(story.id, transcript=" ".join(s.text for s in sentences))


def storyboard(story: StoryRecord, library: Library, settings: Settings, controls: bool) -> None:
    """The grid of a story; if a generation was requested for it, run it here, live."""
    job = st.session_state.get(JOB_KEY)
    if job and job["story_id"] == story.id:
        del st.session_state[JOB_KEY]
        if job.get("finish"):
            run_finish(library, settings, story)
        else:
            run_generation(library, settings, story, job["frame_ids"], reseed=job["reseed"])
        st.rerun()
    show_notices()
    show_grid(story, library, settings, controls)


def request_generation(
    settings: Settings,
    story: StoryRecord,
    frame_ids: list[int] | None = None,
    reseed: bool = False,
) -> None:
    """Ask for pictures; the page's grid runs the job on the next run, in its own place."""
    roles.require_teacher(settings, "make pictures")
    st.session_state[JOB_KEY] = {"story_id": story.id, "frame_ids": frame_ids, "reseed": reseed}
    st.rerun()


def request_finish(settings: Settings, story: StoryRecord) -> None:
    """Ask for an interrupted story to be finished on the next run (see ``run_finish``)."""
    roles.require_teacher(settings, "finish stories")
    st.session_state[JOB_KEY] = {"story_id": story.id, "finish": True}
    st.rerun()


def run_finish(library: Library, settings: Settings, story: StoryRecord) -> None:
    """Transcribe the stored narration again if sentences are missing, then draw what is
    missing, saying how far it got."""
    roles.require_teacher(settings, "finish stories")
    backend = _backend_or_error(settings)
    engine = resources.speech_engine(settings) if story.sentences_missing else None
    found = drawn = 0
    with st.status("Finishing the story…", expanded=True) as status:
        try:
            for event in finish_story(library, settings, backend, story.id, engine):
                found += event.kind == "frame_added"
                drawn += event.kind == "frame_done"
                status.update(label=f"{found} sentences found again · {drawn} pictures drawn")
        except S2IError as error:  # said again after the rerun, above the grid
            status.update(label="Finishing stopped", state="error")
            st.session_state.setdefault("s2i_notices", []).append(str(error))
            return
        status.update(label=f"Finished: {drawn} pictures drawn", state="complete")


def show_grid(story: StoryRecord, library: Library, settings: Settings, controls: bool) -> None:
    """The storyboard; with ``controls`` (teacher), each frame can be fixed and redrawn and shows
    how its picture went; without, students see pictures and sentences only."""
    slots = grid_slots(story.frames)
    for frame in story.frames:
        with slots[frame.id].container(border=True):
            widgets.frame_card(frame, library, details=controls)
            if controls:
                frame_controls(story, frame, library, settings)


def frame_controls(
    story: StoryRecord, frame: FrameRecord, library: Library, settings: Settings
) -> None:
    key = f"{frame.id}_{frame.attempts}"  # a redrawn frame gets fresh fields
    # Its open state lives in the session, so it stays open across the rerun an action causes
    # (and a message in it stays in sight); its fields are only drawn while it is open.
    box = st.expander(
        "Fix this frame", icon=":material/edit:", key=f"fix_open_{frame.id}", on_change="rerun"
    )
    if not box.open:
        return
    with box:
        text = st.text_area("Sentence", frame.text, key=f"text_{key}", height=80)
        text_en = None
        if not story.language.lower().startswith("en"):
            text_en = st.text_input("In English, for the picture", frame.text_en, key=f"en_{key}")
        scene = scene_fields(story, frame, key)
        if st.button(
            "Save and redraw", icon=":material/brush:", key=f"fix_{frame.id}", type="primary"
        ):
            fix_frame(library, settings, story, frame, text, text_en, scene)
        st.divider()
        prompt = st.text_area("Picture prompt", frame.prompt, key=f"prompt_{key}", height=110)
        new_seed, with_prompt = st.columns(2)
        if new_seed.button("New picture", key=f"reseed_{frame.id}", width="stretch"):
            regenerate_frame(library, settings, story, frame, reseed=True)
        if with_prompt.button("Use this prompt", key=f"reprompt_{frame.id}", width="stretch"):
            regenerate_frame(library, settings, story, frame, prompt=prompt)
        earlier_pictures(library, settings, frame)


def earlier_pictures(library: Library, settings: Settings, frame: FrameRecord) -> None:
    """Every picture the frame had: the teacher can show an earlier one again."""
    pictures = library.frame_pictures(frame.id)
    if len(pictures) < 2:
        return
    st.divider()
    st.caption(f"Earlier pictures ({len(pictures)}). The one shown now is marked.")
    columns = st.columns(min(len(pictures), 4))
    for number, picture in enumerate(reversed(pictures)):
        with columns[number % len(columns)]:
            path = library.path(picture.thumb_path or picture.image_path)
            if path.is_file():
                st.image(str(path), width="stretch")
            if picture.id == frame.picture_id:
                st.caption(f"Try {picture.attempt} · shown")
            elif st.button(f"Use try {picture.attempt}", key=f"use_{frame.id}_{picture.id}"):
                roles.require_teacher(settings, "choose pictures")
                library.show_picture(frame.id, picture.id)
                st.rerun()


def scene_fields(story: StoryRecord, frame: FrameRecord, key: str) -> str:
    """Where the frame's scene (what the picture shows, beyond the sentence) is edited."""
    return scenes.scene_field(frame, key)


def fix_frame(
    library: Library,
    settings: Settings,
    story: StoryRecord,
    frame: FrameRecord,
    text: str,
    text_en: str | None,
    scene: str = "",
) -> None:
    """Save the teacher's new sentence (and English line, and scene) and redraw that frame. A
    new sentence gets its scene written again, unless the teacher wrote one."""
    roles.require_teacher(settings, "fix sentences")
    try:
        fixed = reword_frame(library, story, frame.id, text, text_en)
    except EditError as error:
        widgets.show_error(error)
        return
    fixed = scenes.after_fix(library, settings, story, frame, fixed, scene)
    if still_blocked(story, fixed):
        return
    widgets.notify("The sentence is saved. Its picture is being drawn again.")
    request_generation(settings, library.get_story(story.id), [frame.id])


def still_blocked(story: StoryRecord, frame: FrameRecord, prompt: str | None = None) -> bool:
    """Say so, in place, when a word-list word would stop this frame's picture again."""
    _, blocklist = story_params(story)
    words = (
        f"{frame.text} {frame.text_en} {frame.scene} {frame.prompt if prompt is None else prompt}"
    )
    reason = blocked_reason(words, blocklist, story.language)
    if reason:
        hits = re.search(r"\(([^)]*)\)", reason)
        words = f" ({hits.group(1)})" if hits else ""
        st.error(
            f"No picture was asked for: this frame still has a word from the classroom word list"
            f"{words}. Change the sentence above so it no longer has it, then press Save and "
            "redraw.",
            icon=":material/block:",
        )
    return bool(reason)


def regenerate_frame(
    library: Library,
    settings: Settings,
    story: StoryRecord,
    frame: FrameRecord,
    prompt: str | None = None,
    reseed: bool = False,
) -> None:
    roles.require_teacher(settings, "redraw pictures")
    if prompt is not None:
        if not prompt.strip():
            st.error("The prompt is empty. Describe what the picture should show.")
            return
        if still_blocked(story, frame, prompt):
            return
        library.update_frame_text(frame.id, prompt=prompt.strip())
    elif still_blocked(story, frame):
        return
    widgets.notify("Drawing this picture again.")
    request_generation(settings, story, [frame.id], reseed=reseed)


def run_generation(
    library: Library,
    settings: Settings,
    story: StoryRecord,
    frame_ids: Iterable[int] | None = None,
    reseed: bool = False,
) -> list[FrameRecord]:
    """Draw the story's missing frames (or ``frame_ids``), filling the grid as each finishes.

    The grid drawn here replaces the page's grid for the duration of the run; the page reruns
    afterwards to show it again with its controls.
    """
    roles.require_teacher(settings, "make pictures")
    backend = _backend_or_error(settings)
    wanted = set(frame_ids) if frame_ids is not None else {f.id for f in missing_frames(story)}
    if not wanted:
        st.info("Every frame already has its picture.")
        return []
    if backend is None:
        st.warning(choose_backend(settings).detail, icon=":material/key:")
    else:
        for note in refit_story_params(library, story.id, backend.models)[2]:
            st.session_state.setdefault("s2i_notices", []).append(note)
    progress = st.progress(0.0, text=f"Drawing {len(wanted)} pictures…")
    slots = grid_slots(story.frames)
    for frame in story.frames:
        with slots[frame.id].container(border=True):
            widgets.frame_card(
                _pending(frame) if frame.id in wanted else frame, library, details=True
            )
    finished: list[FrameRecord] = []
    try:
        lease_s = settings.work_lease_s
        for frame in generate_story(library, backend, story.id, wanted, reseed, lease_s):
            finished.append(frame)
            with slots[frame.id].container(border=True):
                widgets.frame_card(frame, library, details=True)
            progress.progress(
                len(finished) / len(wanted), text=f"{len(finished)} of {len(wanted)} pictures"
            )
    except S2IError as error:
        widgets.show_error(error)
    summarize(finished)
    return finished


def _backend_or_error(settings: Settings):
    with st.spinner("Loading the picture model…"):
        try:
            return resources.picture_backend(settings)
        except S2IError as error:  # a local model that cannot load: say why, draw placeholders
            widgets.show_error(error)
            return None


def summarize(frames: list[FrameRecord]) -> None:
    """After a run: one message per distinct problem, so a bad key is said once, not 12 times."""
    problems = Counter(f.error for f in frames if f.status in ("failed", "filtered") and f.error)
    for message, count in problems.items():
        st.session_state.setdefault("s2i_notices", []).append(
            f"{count} frame{'s' if count > 1 else ''}: {message}"
        )


def show_notices() -> None:
    for notice in st.session_state.pop("s2i_notices", []):
        st.warning(notice, icon=":material/warning:")


def _pending(frame: FrameRecord) -> FrameRecord:
    return replace(frame, status="pending", error="")
