"""Library: every saved story as a card; search, class and language filters, pages of 12."""

import math

import streamlit as st

from s2i_core import jobs
from s2i_core.exports import language_name
from s2i_core.jobs import JobBook
from s2i_ui import media_routes, resources, roles, widgets

PAGE_SIZE = 12
COLUMNS = 3
ALL_CLASSES = "All classes"
ALL_LANGUAGES = "All languages"


def progress_note(story) -> None:
    if story.status == "interrupted":
        st.caption(
            f":material/pause_circle: Interrupted: {story.done_count} "
            f"of {story.frame_count} pictures so far; a teacher can finish it"
        )
    elif story.done_count < story.frame_count:
        st.caption(
            f":material/construction: In progress: {story.done_count} "
            f"of {story.frame_count} pictures"
        )


settings = resources.settings()
library = resources.library(settings)
teacher = roles.is_teacher(settings)

st.title("Library")
search, class_filter, language_filter = st.columns([2, 1, 1])
query = search.text_input(
    "Search titles and sentences", key="lib_query", placeholder="for example: fox balloon"
)
class_name = class_filter.selectbox("Class", [ALL_CLASSES, *library.class_names()], key="lib_class")
language = language_filter.selectbox(
    "Language",
    [ALL_LANGUAGES, *library.languages()],
    key="lib_language",
    format_func=lambda code: code if code == ALL_LANGUAGES else language_name(code),
)


filters = {
    "query": query.strip(),
    "class_name": None if class_name == ALL_CLASSES else class_name,
    "language": None if language == ALL_LANGUAGES else language,
}
if st.session_state.get("lib_filters") != filters:  # new search: back to the first page
    st.session_state["lib_filters"] = filters
    st.session_state.pop("lib_page", None)

total = library.count_stories(**filters)
if total == 0:
    if any(filters.values()):
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
stories = library.list_stories(**filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
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
            cover = story.cover_thumb_path and library.path(story.cover_thumb_path)
            if cover and cover.is_file():
                cover = media_routes.picture_source(library, story.cover_thumb_path, full=False)
                st.image(cover, width="stretch", alt=f"Cover of {story.title}")
            else:
                widgets.no_picture("No pictures yet")
            st.markdown(f"**{widgets.plain(story.title)}**")
            details = [
                story.class_name,
                f"{story.created_at:%d %b %Y}",
                language_name(story.language) if story.language else "",
                f"{story.frame_count} {'frame' if story.frame_count == 1 else 'frames'}",
            ]
            st.caption(widgets.plain(" · ".join(d for d in details if d)))
            if story.id in running:
                work_in_progress(story.id)
            elif teacher:  # how far the pictures got is the teacher's business, not the class's
                progress_note(story)
            if st.button("Open story", key=f"open_{story.id}", width="stretch"):
                st.switch_page(widgets.STORY_PAGE, query_params={"story": story.id})

if pages > 1:
    st.pagination(pages, key="lib_page")
