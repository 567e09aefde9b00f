"""The storyboard grid shared by the Create and Story pages, and the teacher actions behind it.

Frames fill the grid as the pipeline saves them. Each action checks the teacher role itself, so
a hidden button is never the only thing keeping a student out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

import streamlit as st

from s2i_core.errors import S2IError
from s2i_core.pipeline import frame_drafts, generate_story
from s2i_core.sentences import Sentence
from s2i_core.settings import Settings
from s2i_core.storage import FrameRecord, Library, StoryRecord

from . import resources, roles, widgets

COLUMNS = 3
MISSING = ("pending", "failed", "filtered", "no_backend")
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
    library.set_frames(story.id, frame_drafts(sentences, story.style, story.characters))
    library.update_story(story.id, transcript=" ".join(s.text for s in sentences))


def storyboard(story: StoryRecord, library: Library, settings: Settings, controls: bool) -> None:
    """The grid of a story; if a generation was requested for it, run it here, live."""
    job = st.session_state.get(JOB_KEY)
    if job and job["story_id"] == story.id:
        del st.session_state[JOB_KEY]
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


def show_grid(story: StoryRecord, library: Library, settings: Settings, controls: bool) -> None:
    """The storyboard; with ``controls``, each frame can be redrawn (teacher only)."""
    slots = grid_slots(story.frames)
    for frame in story.frames:
        with slots[frame.id].container(border=True):
            widgets.frame_card(frame, library)
            if controls:
                frame_controls(story, frame, library, settings)


def frame_controls(
    story: StoryRecord, frame: FrameRecord, library: Library, settings: Settings
) -> None:
    with st.expander("Redo this picture"):
        prompt = st.text_area(
            "Picture prompt", frame.prompt, key=f"prompt_{frame.id}_{frame.attempts}", height=110
        )
        new_seed, with_prompt = st.columns(2)
        if new_seed.button("New picture", key=f"reseed_{frame.id}", width="stretch"):
            regenerate_frame(library, settings, story, frame, reseed=True)
        if with_prompt.button("Use this prompt", key=f"reprompt_{frame.id}", width="stretch"):
            regenerate_frame(library, settings, story, frame, prompt=prompt)


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
        library.update_frame_text(frame.id, prompt=prompt.strip())
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
    client = resources.image_client(settings)
    wanted = set(frame_ids) if frame_ids is not None else {f.id for f in missing_frames(story)}
    if not wanted:
        st.info("Every frame already has its picture.")
        return []
    if client is None:
        st.warning(
            "No NVIDIA API key is configured, so frames get a 'no picture yet' card. "
            "Set NVIDIA_API_KEY and choose 'Generate missing pictures' later.",
            icon=":material/key:",
        )
    progress = st.progress(0.0, text=f"Drawing {len(wanted)} pictures…")
    slots = grid_slots(story.frames)
    for frame in story.frames:
        with slots[frame.id].container(border=True):
            widgets.frame_card(_pending(frame) if frame.id in wanted else frame, library)
    finished: list[FrameRecord] = []
    try:
        for frame in generate_story(library, client, story.id, wanted, reseed=reseed):
            finished.append(frame)
            with slots[frame.id].container(border=True):
                widgets.frame_card(frame, library)
            progress.progress(
                len(finished) / len(wanted), text=f"{len(finished)} of {len(wanted)} pictures"
            )
    except S2IError as error:
        widgets.show_error(error)
    summarize(finished)
    return finished


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
