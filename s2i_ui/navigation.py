"""The app's pages and its role-based menu, declared once and set up by the entry point (Home.py).

Every page is registered for everyone, so a student who follows a link to a teacher page gets its
passcode form rather than "page not found"; the menu only lists what the role can use. To add a
page, add one ``PageSpec`` here.
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


PAGES = (
    PageSpec(HOME, "Home", ":material/home:", layout="centered"),
    PageSpec(CREATE_PAGE, "Create a story", ":material/mic:", teacher_only=True),
    PageSpec(LIBRARY_PAGE, "Library", ":material/local_library:"),
    PageSpec(STORY_PAGE, "Story", ":material/auto_stories:", in_menu=False),
    PageSpec(WORD_LIST_PAGE, "Word list", ":material/block:", teacher_only=True, layout="centered"),
)


def navigate() -> tuple[StreamlitPage, PageSpec]:
    """Register every page with Streamlit and pick the one this URL asks for (run it next)."""
    registered = [
        (st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.path == HOME), spec)
        for spec in PAGES
    ]
    current = st.navigation([page for page, _ in registered], position="hidden")
    return current, next(spec for page, spec in registered if page is current)


def menu(teacher: bool) -> None:
    """The sidebar links this role can use."""
    for spec in PAGES:
        if spec.in_menu and (teacher or not spec.teacher_only):
            st.page_link(spec.path, label=spec.title, icon=spec.icon)
