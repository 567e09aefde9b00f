"""Another teacher saved first: both versions side by side, and this teacher's choice.

A save refused because another teacher changed the same words meanwhile (s2i_core.story.
revisions) loses nothing: the page keeps what this teacher typed and asks, for each conflict,
whether to keep theirs, keep the other teacher's, or merge the two (a merged text, prefilled from
both, that the teacher finishes and saves).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from s2i_core.errors import EditConflictError
from s2i_core.storage import StoryRecord
from s2i_core.story.revisions import KEEP_MINE, KEEP_THEIRS, MERGE, Conflict, merge_text

from . import widgets
from .i18n import _, tr

Choice = tuple[str, str | None]  # (KEEP_MINE | KEEP_THEIRS | MERGE, the merged text)


def choose(conflict: Conflict, key: str) -> Choice | None:
    """One conflict and its three choices; the choice made in this run, if any."""
    with st.container(border=True, key=f"conflict_{key}"):
        st.warning(tr(conflict.headline()), icon=":material/group:")
        theirs, mine = st.columns(2)
        with theirs:
            st.caption(_("Saved by the other teacher"))
            st.markdown(_quoted(conflict.their_text(), conflict.theirs is None))
        with mine:
            st.caption(_("Yours"))
            st.markdown(_quoted(conflict.my_text(), not conflict.mine))
        row = st.container(horizontal=True)
        if row.button(_("Keep mine"), key=f"keep_mine_{key}", icon=":material/person:"):
            return KEEP_MINE, None
        if row.button(_("Keep theirs"), key=f"keep_theirs_{key}", icon=":material/group:"):
            return KEEP_THEIRS, None
        mergeable = (
            conflict.theirs is not None and bool(conflict.mine) and conflict.field != "bible"
        )
        merging = f"merging_{key}"
        if mergeable and row.button(_("Merge the two…"), key=f"merge_{key}"):
            st.session_state[merging] = True
        if mergeable and st.session_state.get(merging):
            return _merged(conflict, key)
    return None


def _merged(conflict: Conflict, key: str) -> Choice | None:
    base = str(getattr(conflict.base, conflict.field, "") or "")
    text = st.text_area(
        _("Both in one (change it as you like, then save)"),
        merge_text(base, conflict.my_text(), conflict.their_text()),
        key=f"merged_{key}",
        height=90,
    )
    if st.button(_("Save the merged text"), key=f"save_merged_{key}", type="primary"):
        if not text.strip():
            st.error(_("The merged text is empty. Type what it should say."))
            return None
        st.session_state.pop(f"merging_{key}", None)
        return MERGE, text
    return None


def _quoted(text: str, removed: bool) -> str:
    if removed:
        return _("_Removed (merged into another sentence, or deleted)_")
    return f"“{widgets.plain(text)}”" if text else _("_(empty)_")


# --- a story's details (its title, its characters and setting) ---------------------------------
Save = Callable[[StoryRecord, Any], object]  # save a value based on a story record


def detail_base(
    story: StoryRecord,
    key: str,
    untouched: Callable[[StoryRecord], bool],
    fields: tuple[str, ...],
) -> StoryRecord:
    """The story as it was when the detail's fields got their values: what its save is based
    on. Fields the teacher has not touched (``untouched``) follow what others save: emptied
    (``fields``: their widget keys) to show the story as saved now."""
    base = st.session_state.get(f"base_{key}")
    if base is not None and base.version != story.version and untouched(base):
        for field in fields:
            st.session_state.pop(field, None)
        base = None
    if base is None:
        st.session_state[f"base_{key}"] = base = story
    return base


def save_detail(key: str, base: StoryRecord, save: Save, value: Any) -> bool:
    """Save one detail based on ``base``; False when another teacher changed it meanwhile (the
    conflict waits for the teacher's choice, see waiting_detail)."""
    try:
        save(base, value)
    except EditConflictError as error:
        st.session_state[f"conflict_{key}"] = error.conflicts[0]
        return False
    forget(key)
    return True


def waiting_detail(key: str, save: Save, fields: tuple[str, ...] = ()) -> None:
    """The detail's conflict, if one waits, and its choices; ``fields``: the widget keys that
    show the detail, emptied so they show it as saved."""
    conflict = st.session_state.get(f"conflict_{key}")
    if conflict is None:
        return
    choice = choose(conflict, key)
    if choice is None:
        return
    del st.session_state[f"conflict_{key}"]
    kind, text = choice
    if kind != KEEP_THEIRS and conflict.theirs is not None:
        value = text if text is not None else conflict.mine[conflict.field]
        if save_detail(key, conflict.theirs, save, value):
            widgets.notify(_("Saved."))
    else:
        forget(key)
        widgets.notify(_("The other teacher's version is kept."))
    for field in fields:
        st.session_state.pop(field, None)
    st.rerun()


def forget(key: str) -> None:
    st.session_state.pop(f"base_{key}", None)
