"""Library: every saved story as a card; search, class and language filters, pages of 12."""

import math

import streamlit as st

from s2i_core import jobs
from s2i_core.jobs import JobBook
from s2i_core.languages import language_name
from s2i_ui import account, media_routes, resources, roles, widgets

PAGE_SIZE = 12
COLUMNS = 3
ALL_CLASSES = "All classes"
ALL_LANGUAGES = "All languages"


def progress_note(story) -> None:
    """How far a story's pictures got, for the teacher, when no work runs on it now."""
    if story.status == "interrupted":
        st.caption(
            f":material/pause_circle: Interrupted: {story.done_count} "
            f"of {story.frame_count} pictures so far; open it to finish it"
        )
    elif story.status == "queued":
        st.caption(":material/schedule: Queued: waiting for a worker")
    elif story.frame_count == 0:
        st.caption(":material/edit_note: Draft: nothing heard yet")
    elif story.done_count == 0:
        st.caption(":material/edit_note: Draft: its sentences wait for their pictures")
    elif story.done_count < story.frame_count:
        missing = story.frame_count - story.done_count
        st.caption(
            f":material/warning: {story.done_count} of {story.frame_count} pictures; "
            f"{missing} without one (open the story to fix {'it' if missing == 1 else 'them'})"
        )


settings = resources.settings()
library = resources.library(settings)
viewer = roles.viewer(settings)
teacher = viewer.teacher

st.title("Library")
if not teacher and viewer.class_name is None and not viewer.every_class:
    st.info(
        "Type your class code to open your class's library (your teacher shows it).",
        icon=":material/school:",
    )
    account.class_form(settings, key="library_class")
    st.stop()
search, class_filter, language_filter = st.columns([2, 1, 1])
query = search.text_input(
    "Search titles and sentences", key="lib_query", placeholder="for example: fox balloon"
)
class_name = class_filter.selectbox(
    "Class", [ALL_CLASSES, *library.class_names(viewer)], key="lib_class"
)
language = language_filter.selectbox(
    "Language",
    [ALL_LANGUAGES, *library.languages(viewer)],
    key="lib_language",
    format_func=lambda code: code if code == ALL_LANGUAGES else language_name(code),
)


filters = {
    "query": query.strip(),
    "class_name": None if class_name == ALL_CLASSES else class_name,
    "language": None if language == ALL_LANGUAGES else language,
    "watchable": not teacher,  # students: only stories they can replay, no empty drafts
}
if st.session_state.get("lib_filters") != filters:  # new search: back to the first page
    st.session_state["lib_filters"] = filters
    st.session_state.pop("lib_page", None)

total = library.count_stories(**filters, viewer=viewer)
if total == 0:
    if filters["query"] or filters["class_name"] or filters["language"]:
        st.info(
            "No story matches. Try fewer words or another class or language.",
            icon=":material/search:",
        )
    else:
        st.info("The library is empty. Stories appear here as soon as they are transcribed.")
    st.stop()

pages = math.ceil(total / PAGE_SIZE)
page = st.session_state.get("lib_page") or 1
if page > pages:  # stories were deleted since the page was chosen
    st.session_state.pop("lib_page", None)
    page = 1
stories = library.list_stories(
    **filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, viewer=viewer
)
st.caption(
    f"{total} {'story' if total == 1 else 'stories'}"
    + (f" · page {page} of {pages}" if pages > 1 else "")
)

running = {job.story_id for job in JobBook(library).active() if job.kind != "export"}


@st.fragment(run_every=2.0)
def work_in_progress(story_id: int) -> None:
    """A running story's progress, refreshed from the database while its workers go on."""
    state = jobs.progress(library, story_id)
    icon = ":material/autorenew:" if state.running else ":material/check_circle:"
    st.caption(f"{icon} {widgets.plain(state.summary)}")


for row_start in range(0, len(stories), COLUMNS):
    for column, story in zip(
        st.columns(COLUMNS), stories[row_start : row_start + COLUMNS], strict=False
    ):
        with column.container(border=True):
            cover = widgets.readable(library, story.cover_thumb_path)
            if cover is not None:
                cover = media_routes.picture_source(library, story.cover_thumb_path, full=False)
                st.image(cover, width="stretch", alt=f"Cover of {story.title}")
            else:
                widgets.no_picture("No pictures yet")
            st.markdown(f"**{widgets.plain(story.title)}**")
            details = [
                story.class_name,
                f"{story.created_at:%d %b %Y}",
                language_name(story.language) if story.language else "",
                f"{story.frame_count} {'picture' if story.frame_count == 1 else 'pictures'}"
                if story.frame_count
                else "",
                f"by {story.owner}" if teacher and story.owner != viewer.user else "",
                "shared with the school" if teacher and story.shared else "",
            ]
            st.caption(widgets.plain(" · ".join(d for d in details if d)))
            # how far the pictures got is the teacher's business, not the class's
            if teacher and story.id in running:
                work_in_progress(story.id)
            elif teacher:
                progress_note(story)
            if st.button("Open story", key=f"open_{story.id}", width="stretch"):
                st.switch_page(widgets.STORY_PAGE, query_params={"story": story.id})

if pages > 1:
    st.pagination(pages, key="lib_page")
