"""The storyboard grid shared by the Create and Story pages, and the teacher actions behind it.

Pictures are drawn by the workers (s2i_core.jobs), not by the page: asking for pictures queues a
job, and while a story has work running the grid refreshes from the database about once a second,
on any device that has the story open. Leaving, reloading or closing the page stops nothing.
Each action checks the teacher role itself, so a hidden button is never the only thing keeping a
student out.
"""

from __future__ import annotations

from collections import Counter

import streamlit as st

from s2i_core import jobs
from s2i_core.errors import QueueUnavailableError, S2IError
from s2i_core.pictures import choose_backend
from s2i_core.settings import Settings
from s2i_core.speech import uncertain_language
from s2i_core.storage import FrameRecord, Library, StoryRecord, damaged_files
from s2i_core.story import revisions
from s2i_core.story.scenes import shown_scene
from s2i_core.story.sentences import Sentence

from . import frame_fixes, languages, own_words, resources, roles, scenes, widgets
from .i18n import _, ngettext, tr

COLUMNS = 3
MISSING = ("pending", "drawing", "failed", "filtered", "no_backend")  # claimed ones are skipped
REFRESH_SECONDS = 1.0


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
    library: Library,
    settings: Settings,
    story_id: int,
    base: dict[int, FrameRecord] | None,
    sentences: list[Sentence],
) -> StoryRecord:
    """Save a draft's edited sentences over the frames the page read (``base``), before any
    picture exists: only what this teacher changed; sentences left as they were keep their
    scenes. EditConflictError when another teacher changed the same sentences meanwhile."""
    roles.require_teacher(settings, _("edit sentences"), story_id)
    return revisions.save_sentences(library, story_id, base or {}, sentences)


def storyboard(story: StoryRecord, library: Library, settings: Settings, controls: bool) -> None:
    """The grid of a story: live while workers transcribe or draw it, with its controls after."""
    if controls:
        frame_fixes.do_asked(story, library, settings, request_generation)
    state = jobs.progress(library, story.id)
    waiting = bool(own_words.waiting_frames(state))
    if controls:
        own_words.panel(library, settings, state)
    if state.running:
        live_grid(story.id, library, settings, controls, waiting)
        return
    if controls:
        show_problems(state)
        damaged_notice(state.story, library, settings)
    show_grid(state.story, library, settings, controls)


@st.fragment(run_every=REFRESH_SECONDS)
def live_grid(
    story_id: int, library: Library, settings: Settings, controls: bool, waiting: bool = False
) -> None:
    """Progress and pictures as the workers save them, read from the database each second."""
    state = jobs.progress(library, story_id)
    if not state.running or bool(own_words.waiting_frames(state)) != waiting:
        widgets.rerun_page()  # the whole page: the finished storyboard, or what pictures wait for
        return
    frames = len(state.story.frames)
    fraction = state.pictures_done / frames if frames else 0.0
    st.progress(fraction, text=tr(state.summary))
    if controls:
        choice = choose_backend(settings)
        if not choice.ready:
            st.warning(tr(choice.detail), icon=":material/key:")
        if st.button(_("Cancel"), icon=":material/stop_circle:", key=f"cancel_{story_id}"):
            cancel(library, settings, story_id)
    st.caption(_("You can leave this page: the pictures keep coming, and are saved as they come."))
    show_grid(state.story, library, settings, controls=False, sources=controls)


def cancel(library: Library, settings: Settings, story_id: int) -> None:
    roles.require_teacher(settings, _("cancel pictures"), story_id)
    jobs.cancel(library, story_id)
    widgets.notify(_("Stopped. The pictures finished so far are kept."))
    st.rerun()


def request_generation(
    settings: Settings,
    story: StoryRecord,
    frame_ids: list[int] | None = None,
    reseed: bool = False,
    scenes_first: bool = False,
) -> None:
    """Queue the pictures (every missing one, or ``frame_ids`` again), after the scenes they are
    missing with ``scenes_first``; a story interrupted while it was transcribed is transcribed
    again first. The page then shows the live grid."""
    roles.require_teacher(settings, _("make pictures"), story.id)
    library = resources.library(settings)
    try:
        if frame_ids is None and story.sentences_missing:
            jobs.queue_transcription(
                settings, library, story.id, story.language or None, then_draw=True
            )
        else:
            jobs.queue_pictures(
                settings, library, story, frame_ids, reseed=reseed, scenes_first=scenes_first
            )
    except QueueUnavailableError as error:  # saved: it starts when the queue is back
        widgets.notify(str(error))
    except S2IError as error:
        widgets.show_error(error)
        return
    st.rerun()


def request_finish(settings: Settings, story: StoryRecord, language: str | None = None) -> None:
    """Finish an interrupted story on the workers: transcribe the stored narration again if
    sentences are missing (in ``language``; None: detect it), then draw what is missing (the
    page shows the live grid)."""
    roles.require_teacher(settings, _("finish stories"), story.id)
    if not story.sentences_missing:
        request_generation(settings, story)
        return
    library = resources.library(settings)
    try:
        jobs.queue_transcription(settings, library, story.id, language, then_draw=True)
    except S2IError as error:
        widgets.show_error(error)
        return
    st.rerun()


def finish_controls(settings: Settings, library: Library, story: StoryRecord) -> None:
    """An interrupted story: what stopped it (the last job's failure, a cancel, or the app
    closing), and "Finish this story", with the language to hear it in when its sentences are
    missing (a misheard language is chosen here)."""
    last = jobs.progress(library, story.id).last
    if last is not None and last.state == "failed" and last.error:
        why = _("Making this story stopped: {error}", error=tr(last.error))
    elif last is not None and last.state == "cancelled":
        why = _("Making this story was cancelled.")
    else:
        why = _("Making this story stopped half-way (the app was closed or stopped).")
    st.warning(
        _(
            "{why} Finishing it keeps everything saved and makes only what is missing.",
            why=why,
        ),
        icon=":material/pause_circle:",
    )
    language, guessed = None, False
    if story.sentences_missing:
        guessed = uncertain_language(story.language_probability)
        current = None if guessed else story.language or "auto"
        language = languages.pick(
            _("Language of the narration"),
            f"finish_language_{story.id}",
            current,
            detect=not guessed,
        )
    if st.button(_("Finish this story"), type="primary", key="finish_story"):
        if guessed and language is None:
            st.error(
                _("Choose the language the story is told in first."), icon=":material/translate:"
            )
            return
        request_finish(settings, story, language)


def show_problems(state: jobs.StoryProgress) -> None:
    """Once the work ended: one message per distinct problem, so a bad key is said once, not 12
    times, and a job that stopped says why."""
    last = state.last
    if last and last.state == "failed" and last.error:
        st.error(tr(last.error), icon=":material/error:")
    frames = state.story.frames
    problems = Counter(f.error for f in frames if f.status in ("failed", "filtered") and f.error)
    for message, count in problems.items():
        st.warning(
            ngettext(
                "{n} picture: {problem}", "{n} pictures: {problem}", count, problem=tr(message)
            ),
            icon=":material/warning:",
        )


def damaged_notice(story: StoryRecord, library: Library, settings: Settings) -> None:
    """Stored files that cannot be read, named for the teacher, each picture with its redraw.
    Everyone else sees the frame's card and a replay that plays on without them."""
    damaged = damaged_files(story, library)
    if not damaged:
        return
    pictures = [d.frame for d in damaged if d.frame is not None]
    lines = [
        "- " + _("picture {number}: `{path}`", number=d.frame.index + 1, path=d.path)
        if d.frame is not None
        else "- " + _("the narration: `{path}` (the replay plays without sound)", path=d.path)
        for d in damaged
    ]
    with st.container(border=True, key="damaged_files"):
        st.warning(
            _(
                "These files in the library's data folder cannot be read (cut short or missing); "
                "everyone sees the sentence on its card instead:"
            )
            + "\n"
            + "\n".join(lines),
            icon=":material/broken_image:",
        )
        if pictures and st.button(
            ngettext(
                "Draw {n} damaged picture again", "Draw {n} damaged pictures again", len(pictures)
            ),
            icon=":material/brush:",
            key="redraw_damaged",
        ):
            widgets.notify(
                ngettext(
                    "Drawing {n} damaged picture again.",
                    "Drawing {n} damaged pictures again.",
                    len(pictures),
                )
            )
            request_generation(settings, story, [f.id for f in pictures], reseed=False)


def show_grid(
    story: StoryRecord,
    library: Library,
    settings: Settings,
    controls: bool,
    sources: bool = False,
) -> None:
    """The storyboard; with ``controls`` (teacher), each frame can be fixed and redrawn and shows
    how its picture went and who wrote its scene (``sources``: that alone, while the workers are
    at it); without, students see pictures and sentences only."""
    slots = grid_slots(story.frames)
    for frame in story.frames:
        with slots[frame.id].container(border=True):
            widgets.frame_card(frame, library, details=controls)
            if controls or sources:
                st.caption(scenes.written_by(frame, story))
            if controls:
                frame_controls(story, frame, library, settings)


def frame_controls(
    story: StoryRecord, frame: FrameRecord, library: Library, settings: Settings
) -> None:
    key = f"{frame.id}_{frame.attempts}"  # a redrawn frame gets fresh fields
    # Its open state lives in the session, so it stays open across the rerun an action causes
    # (and a message in it stays in sight); its fields are only drawn while it is open.
    box = st.expander(
        _("Fix this picture"), icon=":material/edit:", key=f"fix_open_{frame.id}", on_change="rerun"
    )
    if not box.open:
        return
    with box:
        frame_fixes.note(frame)
        st.text_area(_("Sentence"), frame.text, key=f"text_{key}", height=80)
        if not story.language.lower().startswith("en"):
            st.text_input(_("In English, for the picture"), frame.text_en, key=f"en_{key}")
        scene_fields(story, frame, key)
        # done on the next run, before the grid (see frame_fixes): never lost to a busy grid
        asking = {"on_click": frame_fixes.ask}
        st.button(
            _("Save and redraw"),
            icon=":material/brush:",
            key=f"fix_{frame.id}",
            type="primary",
            args=("fix", story.id, frame, key),
            **asking,
        )
        st.divider()
        st.text_area(_("Picture prompt"), frame.prompt, key=f"prompt_{key}", height=110)
        if frame.picture_id is not None and shown_scene(frame) not in frame.prompt:
            st.caption(
                _(
                    "The picture shown was drawn from this prompt, before the scene above was "
                    "written: Save and redraw draws the scene above."
                )
            )
        new_seed, with_prompt = st.columns(2)
        new_seed.button(
            _("New picture"),
            key=f"reseed_{frame.id}",
            width="stretch",
            args=("reseed", story.id, frame, key),
            **asking,
        )
        with_prompt.button(
            _("Use this prompt"),
            key=f"reprompt_{frame.id}",
            width="stretch",
            args=("prompt", story.id, frame, key),
            **asking,
        )
        earlier_pictures(library, settings, frame)


def earlier_pictures(library: Library, settings: Settings, frame: FrameRecord) -> None:
    """Every picture the frame had: the teacher can show an earlier one again."""
    pictures = library.frame_pictures(frame.id)
    if len(pictures) < 2:
        return
    st.divider()
    st.caption(_("Earlier pictures ({n}). The one shown now is marked.", n=len(pictures)))
    columns = st.columns(min(len(pictures), 4))
    for number, picture in enumerate(reversed(pictures)):
        with columns[number % len(columns)]:
            path = widgets.readable(library, picture.thumb_path or picture.image_path)
            if path is not None:
                st.image(str(path), width="stretch", alt=_("Try {n}", n=picture.attempt))
            else:
                widgets.no_picture(_("Damaged file"))
            if picture.id == frame.picture_id:
                st.caption(_("Try {n} · shown", n=picture.attempt))
            elif st.button(_("Use try {n}", n=picture.attempt), key=f"use_{frame.id}_{picture.id}"):
                roles.require_teacher(settings, _("choose pictures"), frame.story_id)
                library.show_picture(frame.id, picture.id)
                # the boxes show the chosen try's scene and prompt, not the last one's
                frame_fixes.forget_fields(frame)
                widgets.notify(
                    _(
                        "Picture {number} shows try {n} again.",
                        number=frame.index + 1,
                        n=picture.attempt,
                    )
                )
                st.rerun()


def scene_fields(story: StoryRecord, frame: FrameRecord, key: str) -> str:
    """Where the frame's scene (what the picture shows, beyond the sentence) is edited."""
    return scenes.scene_field(frame, key)
