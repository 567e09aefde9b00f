"""The widgets of accounts and classes: sign-in and sign-out, a student's class code, and on the
teacher's Home the class codes (with their links and QR codes) and today's pictures."""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from s2i_core.lan import qr_png
from s2i_core.settings import Settings
from s2i_core.storage import ClassBook, Viewer
from s2i_core.storage.classes import CODE_LENGTH
from s2i_core.storage.quota import pictures_today

from . import resources, roles, signin, web

NOTES = {
    "not-a-teacher": "is not on this school's list of teachers, so this is the student view.",
    "signed-out": "signed out, or teacher mode ended (after the lesson, or on every device). "
    "Sign in again to go on as a teacher.",
}


def signed_in_box(settings: Settings, who: Viewer) -> None:
    """The sidebar for a signed-in teacher: who, and the ways out."""
    role = "admin" if who.admin else "teacher"
    st.success(f"Signed in as {who.signed_in_as} ({role}).", icon=":material/verified_user:")
    st.button("Sign out", on_click=roles.sign_out, args=(settings,), key="sign_out")
    st.button(
        "Sign out on every device",
        on_click=_sign_out_everywhere,
        args=(settings,),
        key="sign_out_everywhere",
        help="Ends teacher mode on every computer and tablet you signed in on: for a laptop left "
        "behind or a shared computer.",
    )


def sign_in_box(settings: Settings, who: Viewer, key: str) -> None:
    """For a student view in school mode: what happened to a sign-in, and the sign-in buttons."""
    if st.query_params.get("signin") == "failed":
        st.warning(
            "Signing in did not work: the school account service refused it or it expired. "
            "Try again.",
            icon=":material/error:",
        )
    if who.signed_in_as:
        st.caption(f"{who.signed_in_as} {NOTES.get(who.note, '')}")
    elif who.note:
        st.caption(who.note)
    problem = signin.current_problem()
    if problem:
        st.error(problem, icon=":material/settings:")
        return
    section = signin.auth_section() or {}
    for provider in signin.providers(section):
        st.button(
            signin.label(provider),
            on_click=roles.sign_in,
            args=(provider,),
            key=f"{key}_signin_{provider}",
            icon=":material/login:",
            width="stretch",
        )
    if who.signed_in_as:
        st.button("Sign out", on_click=roles.sign_out, args=(settings,), key=f"{key}_sign_out")


def _sign_out_everywhere(settings: Settings) -> None:
    roles.lock_everywhere(settings)
    roles.sign_out(settings)


def class_form(settings: Settings, key: str) -> None:
    """A student types the class code the teacher shows (or scans the class link)."""
    with st.form(key, clear_on_submit=True, border=False):
        typed = st.text_input(
            "Class code", max_chars=12, placeholder="for example K7Q3AB", key=f"{key}_code"
        )
        if st.form_submit_button("Open my class", icon=":material/school:"):
            if roles.open_class(settings, typed or "") is not None:
                st.rerun()
            st.error(
                f"That is not a class code here. A class code has {CODE_LENGTH} letters and "
                "digits: ask your teacher for it.",
                icon=":material/school:",
            )


def student_class_line(settings: Settings, who: Viewer) -> None:
    if who.class_name:
        st.caption(f":material/school: Class: {who.class_name}")


def class_link(code: str) -> str:
    """The address that opens a class on a student's device (LAN mode: the network address)."""
    settings = resources.settings()
    route = "/s2i/join?code=" if web.routes_mounted() else "/library?class="
    if settings.public_url:  # LAN mode: the address tablets use, base path included
        return f"{settings.public_url.rstrip('/')}{route}{code}"
    page = urlsplit(_page_url())
    origin = f"{page.scheme}://{page.netloc}" if page.netloc else ""
    return f"{origin}{web.url_path(route.split('?')[0])}?{route.split('?')[1]}{code}"


def classes_panel(settings: Settings, who: Viewer) -> None:
    """The teacher's classes with their codes: students type the code or scan the link."""
    library = resources.library(settings)
    book = ClassBook(library.engine)
    names = book.names(None if who.admin else who.user)
    if not names:
        st.caption(
            "Your classes appear here with a code for each once a story names its class: "
            "students type the code (or scan it) to open that class's library."
        )
        return
    st.subheader("Your classes")
    for name in names:
        code = book.code_for(name)
        link = class_link(code)
        with st.container(border=True, key=f"class_{code}"):
            words, picture = st.columns([3, 1], vertical_alignment="center")
            words.markdown(f"**{_plain(name)}** · class code **{code}**")
            words.caption(f"Students open {link} or type the code on the Home page.")
            if words.button("New code", key=f"rotate_{name}", help="The old code stops working."):
                roles.require_teacher(settings, "change class codes")
                book.rotate(name)
                st.rerun()
            if link.startswith("http"):
                picture.image(
                    qr_png(link, scale=4),
                    caption=f"Scan to open {name}",
                    width=130,
                    alt=f"QR code of the class link for {name}: {link}",
                )


def pictures_line(settings: Settings, who: Viewer) -> None:
    limit = settings.pictures_per_teacher_day
    if limit <= 0:
        return
    used = pictures_today(resources.library(settings).engine, who.user)
    st.caption(
        f":material/palette: Pictures today: {used} of {limit} "
        f"({max(limit - used, 0)} left; a new day brings {limit} again)."
    )


def _page_url() -> str:
    try:
        url = st.context.url
    except Exception:
        return ""
    return url if isinstance(url, str) else ""


def _plain(text: str) -> str:
    from .widgets import plain

    return plain(text)
