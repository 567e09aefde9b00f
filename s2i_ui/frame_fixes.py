"""A teacher's fix of one saved frame: new words and a redraw, done even while the grid is busy.

A fix button only notes what was asked, with the fields as typed and the frame as the page showed
it (its ``on_click`` runs before the page); the storyboard does it first thing in the run that
follows. So a Save pressed while another teacher's redraw turns the grid live is done, never
dropped. A fix based on words another teacher changed meanwhile is refused by the engine
(s2i_core.story.revisions) and waits above the grid, both versions shown, for the teacher to keep
theirs, keep the other's or merge them; then it is done, based on what is saved now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from s2i_core.editing import reword_frame
from s2i_core.errors import EditConflictError, S2IError
from s2i_core.i18n import N_
from s2i_core.settings import Settings
from s2i_core.storage import FrameRecord, Library, StoryRecord
from s2i_core.story.picture_settings import story_params
from s2i_core.story.revisions import KEEP_THEIRS, Conflict, check_frame, save_frame
from s2i_core.story.scenes import scene_after_fix, shown_scene
from s2i_core.wordlist import frame_stop_reason

from . import conflicts, roles, widgets
from .i18n import _, tr

ASKED = "s2i_fix_asked"  # the fix a button asked for, done on the next run
WAITING = "s2i_fix_conflicts"  # {frame id: Waiting}: fixes another teacher's save overtook
NOTES = "s2i_fix_notes"  # {frame id: message}: why a fix asked for drew nothing


@dataclass(frozen=True)
class Asked:
    """One fix a teacher asked for, as typed."""

    kind: str  # "fix": sentence, English line, scene, then redraw; "prompt": redraw from it;
    # "reseed": the same words, a new picture
    story_id: int
    frame: FrameRecord  # as the teacher's page showed it: what the fix is based on
    text: str
    text_en: str | None  # None: an English story (its English line is the sentence)
    scene: str
    prompt: str


@dataclass(frozen=True)
class Waiting:
    conflict: Conflict
    asked: Asked


def ask(kind: str, story_id: int, frame: FrameRecord, key: str) -> None:
    """``on_click`` of a frame's fix buttons: note what was asked, with its fields as typed."""
    state = st.session_state
    st.session_state[ASKED] = Asked(
        kind,
        story_id,
        frame,
        text=state.get(f"text_{key}", frame.text),
        text_en=state.get(f"en_{key}"),
        scene=state.get(f"scene_{key}", shown_scene(frame)),
        prompt=state.get(f"prompt_{key}", frame.prompt),
    )


Redraw = Callable[..., None]  # storyboard.request_generation(settings, story, frame ids, ...)


def do_asked(story: StoryRecord, library: Library, settings: Settings, redraw: Redraw) -> None:
    """First thing on the storyboard: the fix a button asked for, and the conflicts waiting for
    the teacher's choice. ``redraw`` queues a frame's picture."""
    asked = st.session_state.get(ASKED)
    if asked is not None and asked.story_id == story.id:
        del st.session_state[ASKED]
        _do(asked, library, settings, redraw)
    for frame_id, waiting in list(st.session_state.get(WAITING, {}).items()):
        if waiting.asked.story_id == story.id:
            _choose(frame_id, waiting, library, settings, redraw)


def note(frame: FrameRecord) -> None:
    """In the frame's fix box: why the fix asked for drew nothing."""
    message = st.session_state.get(NOTES, {}).pop(frame.id, None)
    if message:
        st.error(tr(message), icon=":material/block:")


def _do(
    asked: Asked,
    library: Library,
    settings: Settings,
    redraw: Redraw,
    based_on: FrameRecord | None = None,
) -> None:
    roles.require_teacher(settings, _("fix sentences"), asked.story_id)
    frame = based_on or asked.frame
    try:
        done = DO[asked.kind](library, asked, frame)
    except EditConflictError as error:
        st.session_state.setdefault(WAITING, {})[frame.id] = Waiting(error.conflicts[0], asked)
        return
    except S2IError as error:
        done = tr(error)
    if isinstance(done, str):
        st.session_state.setdefault(NOTES, {})[frame.id] = done
        return
    widgets.notify(done.pop("notice"))
    redraw(settings, library.get_story(asked.story_id), [frame.id], **done)


def _choose(
    frame_id: int, waiting: Waiting, library: Library, settings: Settings, redraw: Redraw
) -> None:
    choice = conflicts.choose(waiting.conflict, f"frame_{frame_id}")
    if choice is None:
        return
    del st.session_state[WAITING][frame_id]
    forget_fields(waiting.asked.frame)
    kind, text = choice
    theirs = waiting.conflict.theirs
    if kind == KEEP_THEIRS or not isinstance(theirs, FrameRecord):
        widgets.notify(_("The other teacher's words are kept."))
        st.rerun()
    asked = waiting.asked
    if text is not None:  # merged: the merged words stand for what was typed
        asked = replace(asked, **{waiting.conflict.field: text})
    _do(asked, library, settings, redraw, based_on=theirs)
    st.rerun()


def forget_fields(frame: FrameRecord) -> None:
    """Drop what the frame's fix fields hold, so they show the frame as saved on the next run."""
    for name in ("text", "en", "scene", "prompt"):
        st.session_state.pop(f"{name}_{frame.id}_{frame.attempts}", None)


# --- what each button does: a message (nothing drawn), or how to redraw -------------------------
Done = str | dict[str, Any]


def _fix(library: Library, asked: Asked, frame: FrameRecord) -> Done:
    """Save the teacher's new sentence (and English line, and scene) and redraw that frame. A
    new sentence gets its scene written again, unless the teacher wrote one."""
    story = library.get_story(asked.story_id)
    check_frame(story, frame, _typed(asked, frame))  # every field typed, before any is saved
    fixed = reword_frame(library, story, frame.id, asked.text, asked.text_en, based_on=frame)
    fixed, write_scene = scene_after_fix(library, story.id, frame, fixed, asked.scene)
    if reason := blocked_message(story, fixed):
        return reason
    notice = saved_what(frame, asked) + " " + _("Its picture is being drawn again.")
    return {"notice": notice, "scenes_first": write_scene}


def _prompt(library: Library, asked: Asked, frame: FrameRecord) -> Done:
    prompt = asked.prompt.strip()
    if not prompt:
        return _("The prompt is empty. Describe what the picture should show.")
    story = library.get_story(asked.story_id)
    if reason := blocked_message(story, frame, prompt):
        return reason
    save_frame(library, story.id, frame, {"prompt": prompt})
    again = _("Drawing picture {number} again.", number=frame.index + 1)
    return {"notice": _("Its new prompt is saved.") + " " + again}


def _reseed(library: Library, asked: Asked, frame: FrameRecord) -> Done:
    if reason := blocked_message(library.get_story(asked.story_id), frame):
        return reason
    return {"notice": _("Drawing picture {number} again.", number=frame.index + 1), "reseed": True}


DO: dict[str, Callable[[Library, Asked, FrameRecord], Done]] = {
    "fix": _fix,
    "prompt": _prompt,
    "reseed": _reseed,
}


def saved_what(before: FrameRecord, asked: Asked) -> str:
    """The toast's first words: what the teacher changed in the fix fields."""
    typed = (
        ("sentence", before.text, asked.text),
        ("English line", before.text_en, asked.text_en or before.text_en),
        ("scene", shown_scene(before), asked.scene or shown_scene(before)),
    )
    changed = {name for name, old, new in typed if " ".join(old.split()) != " ".join(new.split())}
    number = before.index + 1
    if not changed:
        return _("Nothing changed in picture {number}.", number=number)
    return _(SAVED_MESSAGES[frozenset(changed)], number=number)


SAVED_MESSAGES = {  # what a fix changed -> the toast's first words (whole sentences translate)
    frozenset({"sentence"}): N_("The sentence of picture {number} is saved."),
    frozenset({"English line"}): N_("The English line of picture {number} is saved."),
    frozenset({"scene"}): N_("The scene of picture {number} is saved."),
    frozenset({"sentence", "English line"}): N_(
        "The sentence and English line of picture {number} are saved."
    ),
    frozenset({"sentence", "scene"}): N_("The sentence and scene of picture {number} are saved."),
    frozenset({"English line", "scene"}): N_(
        "The English line and scene of picture {number} are saved."
    ),
    frozenset({"sentence", "English line", "scene"}): N_(
        "The sentence, English line and scene of picture {number} are saved."
    ),
}


def _typed(asked: Asked, frame: FrameRecord) -> dict[str, str]:
    typed = {"text": " ".join(asked.text.split())}
    if asked.text_en is not None:
        typed["text_en"] = " ".join(asked.text_en.split())
    scene = " ".join(asked.scene.split())
    if scene and scene != shown_scene(frame):
        typed["scene"] = scene
    return typed


def blocked_message(story: StoryRecord, frame: FrameRecord, prompt: str | None = None) -> str:
    """Why no picture is asked for, when a word-list word would stop this frame's picture again:
    which words, and where (the sentence, the English line, the scene or the prompt); "" when
    none would."""
    _params, blocklist = story_params(story)
    checked = frame if prompt is None else replace(frame, prompt=prompt)
    reason = frame_stop_reason(checked, blocklist, story.language)
    return _("No picture was asked for. {reason}", reason=tr(reason)) if reason else ""
