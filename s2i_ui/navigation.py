"""The app's pages and its role-based menu, declared once and set up by the entry point (Home.py).

Every page is registered for everyone, so a student who follows a link to a teacher page gets its
passcode form rather than "page not found"; the menu only lists what the role can use. To add a
page, add one ``PageSpec`` here.

Addresses last: each page also answers to every address the app gave it before (``aliases``:
the first version's ``pages/3_Story.py`` was ``/Story``), and sends the browser on to its address
of today with the same parameters, so printed, bookmarked and shared links keep opening.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.navigation.page import StreamlitPage

HOME = "app_pages/home.py"
CREATE_PAGE = "app_pages/create.py"
LIBRARY_PAGE = "app_pages/library.py"
STORY_PAGE = "app_pages/story.py"
WORD_LIST_PAGE = "app_pages/word_list.py"


@dataclass(frozen=True)
class PageSpec:
    path: str  # the page script, relative to Home.py; its file name is its URL ("/library")
    title: str  # menu label and browser tab title
    icon: str
    teacher_only: bool = False  # listed in the menu only in teacher mode
    in_menu: bool = True  # False: reached through links only (one story needs its ?story= id)
    layout: str = "wide"  # "centered" for pages of text
    aliases: tuple[str, ...] = ()  # addresses it had before ("Story" for /Story?story=3)


PAGES = (
    PageSpec(HOME, "Home", ":material/home:", layout="centered", aliases=("Home",)),
    PageSpec(
        CREATE_PAGE,
        "Create a story",
        ":material/mic:",
        teacher_only=True,
        aliases=("Create_a_story", "create_a_story", "Create"),
    ),
    PageSpec(LIBRARY_PAGE, "Library", ":material/local_library:", aliases=("Library",)),
    PageSpec(STORY_PAGE, "Story", ":material/auto_stories:", in_menu=False, aliases=("Story",)),
    PageSpec(
        WORD_LIST_PAGE,
        "Word list",
        ":material/block:",
        teacher_only=True,
        layout="centered",
        aliases=("Word_list", "word-list"),
    ),
)


def navigate() -> tuple[StreamlitPage, PageSpec]:
    """Register every page with Streamlit and pick the one this URL asks for (run it next)."""
    # No icon here: Streamlit would make a page's Material icon the tab's icon, fetched from
    # Google's font server (widgets.setup sets our bundled one); the menu shows the icons.
    registered = [
        (st.Page(spec.path, title=spec.title, default=spec.path == HOME), spec) for spec in PAGES
    ]
    registered += [
        (st.Page(_forward(spec), title=spec.title, url_path=alias, visibility="hidden"), spec)
        for spec in PAGES
        for alias in spec.aliases
    ]
    current = st.navigation([page for page, _ in registered], position="hidden")
    return current, next(spec for page, spec in registered if page is current)


def _forward(spec: PageSpec):
    def forward() -> None:
        st.switch_page(spec.path, query_params=st.query_params.to_dict())

    forward.__name__ = f"forward_to_{spec.path.rsplit('/', 1)[-1].removesuffix('.py')}"
    return forward


def menu(teacher: bool) -> None:
    """The sidebar links this role can use."""
    for spec in PAGES:
        if spec.in_menu and (teacher or not spec.teacher_only):
            st.page_link(spec.path, label=spec.title, icon=spec.icon)
