"""The character sheet on the Create and Story pages: each main character's picture, drawn from
its look (again and again, earlier tries kept to pick from) or uploaded (a photo of the class's
own drawing), and whether frames naming a character are drawn from its picture."""

from __future__ import annotations

import streamlit as st

from s2i_core.errors import ContentFilteredError, S2IError
from s2i_core.jobs.runtime import runtime_for
from s2i_core.pictures.reference import UPLOAD_TYPES, Crop
from s2i_core.pictures.reference_catalogue import reference_catalogue
from s2i_core.settings import Settings
from s2i_core.storage import CharacterPicture, CharacterSheet, Library, StoryRecord
from s2i_core.story.bible import Character, StoryBible
from s2i_core.story.characters import draw_character, upload_character
from s2i_ui import roles, widgets
from s2i_ui.i18n import _, tr


def sheet_panel(
    library: Library, settings: Settings, story: StoryRecord, key: str, controls: bool = True
) -> None:
    """The story's characters with their pictures; with ``controls``, a teacher's tools."""
    characters = StoryBible.from_json(story.bible).characters
    sheet = library.character_sheet(story.id)
    if not controls and not sheet.characters:
        return
    with st.expander(
        _("Character sheet: the same hero in every picture"),
        expanded=bool(sheet.pictures) and not controls,
    ):
        if controls:
            _switch(library, settings, story, sheet, key)
        if not characters:
            st.caption(
                _("Name the characters and say how they look (above) to give each a picture.")
            )
        for character in characters:
            _character(library, settings, story, sheet, character, f"{key}_{story.id}", controls)


def _switch(
    library: Library, settings: Settings, story: StoryRecord, sheet: CharacterSheet, key: str
) -> None:
    ready = [m for m in reference_catalogue(settings).values() if m.ready]
    if not ready:
        notes = [m.note for m in reference_catalogue(settings).values()]
        st.info(tr(notes[0]) if notes else _("This picture backend cannot draw from a picture."))
    else:
        st.caption(
            _(
                "Frames that name a character with a picture are drawn from it by {model}; "
                "several characters go as {several}.",
                model=ready[0].model.label,
                several=ready[0].several_characters,
            )
        )
    on = st.toggle(_("Draw characters from their pictures"), sheet.enabled, key=f"cs_on_{key}")
    if on != sheet.enabled:
        roles.require_teacher(settings, "change the character sheet", story.id)
        library.set_character_sheet(story.id, on)
        st.rerun()


def _character(library, settings, story, sheet, character: Character, key, controls) -> None:
    st.markdown(f"**{widgets.plain(character.name)}** · {widgets.plain(character.look)}")
    chosen = sheet.chosen(character.name)
    picture, tools = st.columns([1, 2]) if controls else (st.container(), None)
    with picture:
        _show(library, chosen, character)
    if tools is None:
        return
    with tools:
        tries = sheet.tries(character.name)
        if len(tries) > 1:
            _pick(library, settings, story, tries, f"{key}_{character.name}")
        _draw_button(library, settings, story, character, chosen, f"{key}_{character.name}")
        _upload(library, settings, story, character, f"{key}_{character.name}")


def _show(library: Library, chosen: CharacterPicture | None, character: Character) -> None:
    path = widgets.readable(library, chosen.image_path) if chosen else None
    if path is None:
        st.caption(_("No picture yet: frames show them from their look alone."))
        return
    made = (
        _("the class's drawing") if chosen.source == "uploaded" else _("try {n}", n=chosen.attempt)
    )
    st.image(str(path), caption=f"{widgets.plain(character.name)} ({made})", width=180)


def _pick(library, settings, story, tries: list[CharacterPicture], key: str) -> None:
    labels = {
        p.id: _("drawing {n}", n=p.attempt) if p.source == "uploaded" else _("try {n}", n=p.attempt)
        for p in tries
    }
    current = next(p.id for p in tries if p.chosen) if any(p.chosen for p in tries) else None
    picked = st.segmented_control(
        _("Draw the frames from"), list(labels), format_func=labels.get, default=current,
        key=f"cs_pick_{key}",
    )  # fmt: skip
    if picked is not None and picked != current:
        roles.require_teacher(settings, "change the character sheet", story.id)
        library.choose_character_picture(picked)
        st.rerun()


def _draw_button(library, settings, story, character, chosen, key: str) -> None:
    label = _("Draw again") if chosen else _("Draw {name}", name=character.name)
    if not st.button(label, icon=":material/brush:", key=f"cs_draw_{key}"):
        return
    roles.require_teacher(settings, "draw a character", story.id)
    backend = runtime_for(settings).picture_backend()
    if backend is None:
        st.warning(_("No picture backend is set up, so characters cannot be drawn. Upload one."))
        return
    try:
        with st.spinner(_("Drawing {name}…", name=character.name)):
            draw_character(library, backend, story.id, character)
    except ContentFilteredError as error:
        st.warning(tr(error), icon=":material/block:")  # like a filtered frame
        return
    except S2IError as error:
        widgets.show_error(error)
        return
    st.rerun()


def _upload(library, settings, story, character: Character, key: str) -> None:
    upload = st.file_uploader(
        _(
            "Upload the class's drawing of {name} (a photo: PNG, JPEG or HEIC)",
            name=character.name,
        ),
        type=list(UPLOAD_TYPES), key=f"cs_file_{key}",
    )  # fmt: skip
    if upload is None:
        return
    across = st.slider(_("Keep from left to right (%)"), 0, 100, (0, 100), key=f"cs_x_{key}")
    down = st.slider(_("Keep from top to bottom (%)"), 0, 100, (0, 100), key=f"cs_y_{key}")
    clean = st.checkbox(_("Clean the paper to white"), True, key=f"cs_clean_{key}")
    if not st.button(_("Use this drawing"), icon=":material/upload:", key=f"cs_use_{key}"):
        return
    roles.require_teacher(settings, "upload a character's drawing", story.id)
    crop = Crop(across[0] / 100, down[0] / 100, across[1] / 100, down[1] / 100)
    try:
        upload_character(
            library, story.id, character.name, upload.getvalue(), upload.name, crop, clean
        )
    except S2IError as error:
        widgets.show_error(error)
        return
    widgets.notify(
        _(
            "{name}'s drawing is saved: frames naming them are drawn from it.",
            name=character.name,
        )
    )
    st.rerun()
