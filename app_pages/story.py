"""One story: read-along replay, PDF and narrated video for everyone; rename, delete, redraw for
the teacher."""

import streamlit as st

from s2i_core import replay
from s2i_core.errors import StoryNotFoundError
from s2i_core.storage import can_edit, can_manage, can_see, parse_id
from s2i_core.story.revisions import save_story
from s2i_ui import (
    characters,
    conflicts,
    exports,
    i18n,
    media_routes,
    resources,
    roles,
    scenes,
    storyboard,
    widgets,
)
from s2i_ui.i18n import _

settings = resources.settings()
library = resources.library(settings)


@st.cache_data(max_entries=8, show_spinner=False)
def replay_page(
    data_dir: str, story_id: int, version: tuple, links: bool, locale: str, _story
) -> str:
    """Built once per version of the story and language for every student (with ``links``, the
    pictures and narration are fetched by URL, not sent inside each student's page)."""
    link = (lambda rel: media_routes.media_url(library.data_dir, rel)) if links else None
    return replay.story_replay_html(_story, library, link, locale=locale)


def rename(based_on, title: str) -> None:
    """A new title, unless another teacher renamed the story since ``based_on`` was shown."""
    save_story(library, based_on, {}, title=title)


def version_of(story) -> tuple:
    return story.updated_at, tuple((f.id, f.status, f.text, f.updated_at) for f in story.frames)


def require_manager(action: str, story_id: int) -> None:
    """Deleting and sharing: the story's owner or an admin (checked where it runs)."""
    roles.require_teacher(
        settings, _("delete stories") if action == "delete" else _("share stories")
    )
    if not roles.may_manage(settings, library.get_story(story_id)):
        if action == "delete":
            st.error(_("Only the teacher who made this story can delete it."))
        else:
            st.error(_("Only the teacher who made this story can share it."))
        st.stop()


def share(story_id: int) -> None:
    shared = bool(st.session_state.get(f"share_{story_id}"))
    require_manager("share", story_id)
    library.update_story(story_id, shared=shared)
    widgets.notify(
        _("Shared with the school.") if shared else _("No longer shared with the school.")
    )


def not_found(message: str) -> None:
    st.info(message, icon=":material/local_library:")
    st.page_link(widgets.LIBRARY_PAGE, label=_("Open the library"), icon=":material/local_library:")
    st.stop()


raw_id = st.query_params.get("story", "")
if not raw_id:
    not_found(_("Choose a story in the library to replay it."))
try:
    story = library.get_story(parse_id(raw_id) or 0)
except StoryNotFoundError:
    story = None
viewer = roles.viewer(settings)
if story is None or not can_see(viewer, story):  # another class's, or another teacher's
    not_found(_("That story was not found; it may have been deleted. Choose one in the library."))

teacher = can_edit(viewer, story)
manager = can_manage(viewer, story)
if not teacher and (story.sentences_missing or all(f.status == "pending" for f in story.frames)):
    # a draft still being heard or checked: as the library, students see finished stories only
    not_found(_("That story is not ready yet. Choose another one in the library."))
st.page_link(widgets.LIBRARY_PAGE, label=_("Back to the library"), icon=":material/arrow_back:")
st.title(widgets.plain(story.title))
done = sum(f.status == "done" for f in story.frames)
details = [
    story.class_name,
    i18n.date(story.created_at),
    i18n.language(story.language) if story.language else "",
    i18n.duration(story.duration) if story.duration else "",
    _("{done} of {total} pictures", done=done, total=len(story.frames)) if teacher else "",
]
st.caption(widgets.plain(" · ".join(d for d in details if d)))
i18n.follow_story(story.language)

links = media_routes.served()
with st.spinner(_("Preparing the replay…")):
    replay_html = replay_page(
        str(library.data_dir), story.id, version_of(story), links, i18n.locale(), story
    )
st.iframe(replay_html, height="content")

exports.export_buttons(settings, library, story)

if teacher:
    if story.frames and all(f.status == "pending" for f in story.frames):
        st.info(
            _(
                "No picture has been drawn for this story yet: its sentences can still be "
                "checked, merged and split before the storyboard is made."
            ),
            icon=":material/edit_note:",
        )
        if st.button(_("Check the sentences"), icon=":material/edit:", key="edit_draft"):
            st.switch_page(widgets.CREATE_PAGE, query_params={"draft": story.id})
    with st.expander(
        _("Teacher tools"),
        icon=":material/build:",
        expanded=st.session_state.get("confirm_delete") == story.id,
    ):
        title_key = f"title_{story.id}"
        title_base = conflicts.detail_base(
            story,
            title_key,
            lambda base: st.session_state.get(title_key, base.title) == base.title,
            (title_key,),
        )
        with st.form("rename", border=False):
            title = st.text_input(_("Title"), story.title, max_chars=200, key=title_key)
            if st.form_submit_button(_("Save title")):
                roles.require_teacher(settings, _("rename stories"), story.id)
                if title.strip():
                    if conflicts.save_detail(title_key, title_base, rename, title.strip()):
                        widgets.notify(_("The new title is saved."))
                    st.rerun()
                st.error(_("A story needs a title."))
        conflicts.waiting_detail(title_key, rename, fields=(title_key,))

        if story.status == "interrupted":
            storyboard.finish_controls(settings, library, story)

        missing = storyboard.missing_frames(story)
        label = _("Draw the missing pictures ({n})", n=len(missing))
        if missing and st.button(label, key="regen_missing"):
            storyboard.request_generation(settings, story)

        if manager and roles.school_mode():
            st.toggle(
                _("Share with the school"),
                value=story.shared,
                key=f"share_{story.id}",
                on_change=share,
                args=(story.id,),
                help=_("Every teacher of the school can then find, replay and change this story."),
            )
        if manager and st.session_state.get("confirm_delete") != story.id:
            if st.button(_("Delete this story…"), key="delete"):
                require_manager("delete", story.id)
                st.session_state["confirm_delete"] = story.id
                st.rerun()
        elif manager:
            st.warning(
                _(
                    "Delete this story, its pictures and its narration for everyone? "
                    "This cannot be undone."
                ),
                icon=":material/delete:",
            )
            yes, no = st.columns(2)
            if yes.button(_("Yes, delete it"), type="primary", key="delete_yes", width="stretch"):
                require_manager("delete", story.id)
                library.delete_story(story.id)
                st.session_state.pop("confirm_delete", None)
                widgets.notify(_("“{title}” was deleted.", title=widgets.plain(story.title)))
                st.switch_page(widgets.LIBRARY_PAGE)
            if no.button(_("Cancel"), key="delete_no", width="stretch"):
                st.session_state.pop("confirm_delete", None)
                st.rerun()

st.subheader(_("Storyboard"))
if teacher:
    scenes.bible_editor(library, settings, story, "story")
characters.sheet_panel(library, settings, story, "story", controls=teacher)
storyboard.storyboard(story, library, settings, controls=teacher)
