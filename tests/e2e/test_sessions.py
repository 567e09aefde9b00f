"""Teacher sessions in Chromium: a student guessing the passcode in one browser never slows down
the teacher's, the teacher cookie is set by the server (HttpOnly, SameSite=Strict) and page script
cannot read it, Lock ends the session on the server (a copied cookie is worth nothing), and "Lock
on every device" ends it on every browser. One app server (passcode mode) for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app_server import app_server
from tests.e2e.test_browser import eventually, idle

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSCODE = "amber-kestrel-3"
STEP_MS = 60_000
LAPTOP = {"width": 1366, "height": 768}


NO_PICTURES = {"S2I_IMAGE_BACKEND": "none"}  # these tests draw nothing


@pytest.fixture(scope="module")
def app(tmp_path_factory, artifacts) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("sessions")
    env = {"S2I_DATA_DIR": str(data_dir), "S2I_TEACHER_PASSCODE": PASSCODE, **NO_PICTURES}
    with app_server(env, artifacts / "sessions-streamlit.log") as url:
        yield url


def new_browser(browser: Browser, url: str, path: str = "/") -> Page:
    """A browser of its own (no cookies shared with any other), at ``path``."""
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.set_default_timeout(STEP_MS)
    page.goto(url + path)
    idle(page)
    return page


def try_passcode(page: Page, passcode: str) -> None:
    """Home's own passcode box, the one a teacher uses (opened first if it is closed)."""
    main = page.get_by_test_id("stMain")
    box = main.get_by_label("Teacher passcode")
    if not box.is_visible():
        main.get_by_text("Teacher? Unlock teacher mode").click()
    box.fill(passcode)
    main.get_by_role("button", name="Unlock teacher mode").click()
    idle(page)


def unlock(page: Page) -> None:
    try_passcode(page, PASSCODE)
    expect(page.get_by_text("Teacher mode is on.")).to_be_visible()
    eventually(lambda: has_teacher_cookie(page), 60, "the server to set the teacher cookie")


def has_teacher_cookie(page: Page) -> bool:
    return any(c["name"] == "s2i_teacher" for c in page.context.cookies())


def is_teacher(page: Page) -> bool:
    """Teacher mode, as this browser sees it after a reload (of Home, or of any page)."""
    page.reload()
    idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    on = sidebar.get_by_text("Teacher mode is on.")
    expect(on.or_(sidebar.get_by_text("Student view: browse and replay stories."))).to_be_visible()
    return on.count() == 1


def teacher_cookie(page: Page) -> dict:
    [cookie] = [c for c in page.context.cookies() if c["name"] == "s2i_teacher"]
    return cookie


def test_a_student_guessing_in_one_browser_never_slows_the_teachers(browser, app, artifacts):
    student = new_browser(browser, app)
    for n in range(6):
        try_passcode(student, f"guess-{n}")
    expect(student.get_by_text("Too many wrong passcodes")).to_be_visible()
    try_passcode(student, PASSCODE)  # the right one, from the guessing browser: still waits
    expect(student.get_by_text("Too many wrong passcodes")).to_be_visible()
    assert not is_teacher(student)
    student.screenshot(path=artifacts / "sessions-student-slowed.png")

    teacher = new_browser(browser, app)  # same network address, another browser: at once
    unlock(teacher)
    assert is_teacher(teacher)
    student.context.close()
    teacher.context.close()


def test_the_teacher_cookie_is_the_servers_and_page_script_cannot_read_it(browser, app):
    page = new_browser(browser, app)
    assert "s2i_teacher" not in page.evaluate("document.cookie")
    unlock(page)
    expect(page.get_by_text("Teacher mode is on.")).to_be_visible()  # the page stayed as it was
    cookie = teacher_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert 7 * 3600 < cookie["expires"] - page.evaluate("Date.now() / 1000") <= 8 * 3600
    assert "s2i_teacher" not in page.evaluate("document.cookie")
    assert "s2i_browser" not in page.evaluate("document.cookie")
    assert is_teacher(page)  # a reload (and any new tab) stays in teacher mode
    second_tab = page.context.new_page()
    second_tab.goto(app + "/library")
    idle(second_tab)
    expect(second_tab.get_by_text("Teacher mode is on.")).to_be_visible()
    page.context.close()


def test_lock_ends_the_session_on_the_server_so_a_copied_cookie_is_worthless(browser, app):
    page = new_browser(browser, app)
    unlock(page)
    copied = teacher_cookie(page)

    thief = browser.new_context(viewport=LAPTOP)
    thief.add_cookies([copied])
    stolen = thief.new_page()
    stolen.goto(app)
    idle(stolen)
    assert is_teacher(stolen)  # before Lock the cookie works anywhere, like any session cookie

    page.get_by_role("button", name="Lock (back to student view)").click()
    idle(page)
    eventually(lambda: not has_teacher_cookie(page), 60, "the server to clear the cookie")
    assert not is_teacher(page)

    assert not is_teacher(stolen)  # the copy ended with the session
    fresh = browser.new_context(viewport=LAPTOP)
    fresh.add_cookies([copied])
    replayed = fresh.new_page()
    replayed.goto(app)
    idle(replayed)
    assert not is_teacher(replayed)
    for context in (page.context, thief, fresh):
        context.close()


def test_lock_on_every_device_ends_teacher_mode_everywhere(browser, app, artifacts):
    laptop, tablet = new_browser(browser, app), new_browser(browser, app)
    unlock(laptop)
    unlock(tablet)
    tablet.get_by_role("button", name="Lock on every device").click()
    idle(tablet)
    tablet.screenshot(path=artifacts / "sessions-locked-everywhere.png")
    assert not is_teacher(tablet)
    assert not is_teacher(laptop)  # the laptop left behind is a student view now
    for page in (laptop, tablet):
        page.context.close()
