"""A whole school on one server, in Chromium, with a real OpenID Connect provider on this machine
(oidc-provider-mock: its sign-in form, its tokens, its end-session page).

Two teachers sign in; neither can open or change the other's private story (from the library or
by typing its address); sharing makes a story every teacher's; a class code (or class link) opens
only its class on a student's device; sign-out ends teacher mode in every tab; a lesson that
ended, or a sign-in the provider refused, is said and signing in again works; an account not on
the teacher list gets the student view. A server whose sign-in set-up cannot work says so in one
line at start and on its pages. One app server and one provider for the module.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import oidc_provider_mock
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from s2i_core.pictures.images import thumbnail
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from tests.e2e.app_server import app_server, free_port
from tests.e2e.test_browser import eventually, idle
from tests.e2e.test_sessions import NO_PICTURES
from tests.nvidia_stub import draw_picture

pytestmark = pytest.mark.e2e

ANNA, BEN, HEAD = "anna@school.example", "ben@school.example", "head@school.example"
PUPIL = "pupil@other.example"
LAPTOP = {"width": 1366, "height": 768}
STEP_MS = 60_000


def secrets_toml(folder: Path, app_port: int, metadata_url: str, **auth: str) -> Path:
    values = {
        "redirect_uri": f"http://127.0.0.1:{app_port}/oauth2callback",
        "cookie_secret": "a-test-cookie-secret-that-is-long-enough-0123456789",
    } | auth
    lines = ["[auth]", *(f'{key} = "{value}"' for key, value in values.items() if value)]
    lines += ["", "[auth.school]", 'client_id = "storyboards"', 'client_secret = "secret"']
    lines += [f'server_metadata_url = "{metadata_url}"']
    path = folder / "secrets.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def seed(library: Library, title: str, owner: str, class_name: str) -> int:
    """A finished story, as a teacher leaves it: its sentence heard and its picture drawn (a
    student's library shows only stories ready to replay)."""
    story = library.create_story(title=title, class_name=class_name, language="en", owner=owner)
    drafts = [FrameDraft(0, 0.0, 3.0, f"{title}.", f"{title}.", prompt=title)]
    for frame in library.set_frames(story.id, drafts):
        picture = draw_picture(frame.prompt, 512, 512)
        library.save_frame_result(frame.id, "done", image=picture, thumbnail=thumbnail(picture))
    library.refresh_story_status(story.id)
    return story.id


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def school(tmp_path_factory, artifacts, provider) -> Iterator[tuple[str, Library, dict]]:
    folder = tmp_path_factory.mktemp("school")
    library = Library(Settings(data_dir=folder / "data"))
    stories = {
        "anna": seed(library, "Anna's owls", ANNA, "Year 3 Owls"),
        "ben": seed(library, "Ben's foxes", BEN, "Year 4 Foxes"),
    }
    port = free_port()
    secrets = secrets_toml(folder, port, f"{provider}/.well-known/openid-configuration")
    env = {
        "S2I_DATA_DIR": str(folder / "data"),
        "S2I_TEACHERS": "*@school.example",
        "S2I_ADMINS": HEAD,
        "S2I_TEACHER_PASSCODE": "not-used-with-sign-in",  # off: sign-in is set up
        **NO_PICTURES,
    }
    extra = ("--secrets.files", str(secrets))
    with app_server(env, artifacts / "school-streamlit.log", *extra, port=port) as url:
        yield url, library, stories
    library.close()


def browser_page(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.set_default_timeout(STEP_MS)
    page.goto(url)
    idle(page)
    return page


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(url)
    idle(page)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign in with School").click()
    page.get_by_placeholder("sub").fill(email)  # the provider's own sign-in form
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/.*"))
    idle(page)


def signed_in(page: Page, email: str) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(f"Signed in as {email}")).to_be_visible()


def library_titles(page: Page, url: str) -> list[str]:
    page.goto(f"{url}/library")
    idle(page)
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    shown = {t.strip() for t in page.locator("strong").all_inner_texts()}
    return sorted(shown & {"Anna's owls", "Ben's foxes"})


def open_story(page: Page, url: str, story_id: int) -> None:
    page.goto(f"{url}/story?story={story_id}")
    idle(page)


def test_teachers_see_and_change_only_their_own_stories_until_one_is_shared(
    browser, school, artifacts
):
    url, library, stories = school
    anna, ben = browser_page(browser, url), browser_page(browser, url)
    sign_in(anna, url, ANNA)
    signed_in(anna, ANNA)
    sign_in(ben, url, BEN)
    signed_in(ben, BEN)

    assert "Anna's owls" in library_titles(anna, url)
    assert "Ben's foxes" not in library_titles(anna, url)
    anna.screenshot(path=artifacts / "school-anna-library.png")

    open_story(anna, url, stories["ben"])  # Ben's private story, by its address
    expect(anna.get_by_text("That story was not found")).to_be_visible()
    expect(anna.get_by_text("Ben's foxes")).to_have_count(0)
    open_story(anna, url, stories["anna"])
    expect(anna.get_by_text("Teacher tools")).to_be_visible()

    open_story(ben, url, stories["ben"])  # Ben shares his story with the school
    ben.get_by_text("Teacher tools").click()
    ben.get_by_text("Share with the school").click()
    expect(ben.get_by_text("Shared with the school.")).to_be_visible()
    eventually(lambda: library.get_story(stories["ben"]).shared, 30, "the story to be shared")

    assert "Ben's foxes" in library_titles(anna, url)
    open_story(anna, url, stories["ben"])
    expect(anna.get_by_text("Teacher tools")).to_be_visible()  # shared: Anna may change it
    anna.get_by_text("Teacher tools").click()
    expect(anna.get_by_label("Title")).to_be_visible()
    expect(anna.get_by_role("button", name="Delete this story…")).to_have_count(0)  # Ben's
    expect(anna.get_by_text("Share with the school")).to_have_count(0)
    for page in (anna, ben):
        page.context.close()


def test_a_class_code_opens_only_its_class_on_a_students_device(browser, school, artifacts):
    url, _, stories = school
    anna = browser_page(browser, url)
    sign_in(anna, url, ANNA)
    expect(anna.get_by_text("Your classes")).to_be_visible()
    expect(anna.get_by_text("Year 3 Owls · class code")).to_be_visible()
    code = re.search(r"Owls · class code ([A-Z0-9]{6})", anna.inner_text("body")).group(1)
    anna.screenshot(path=artifacts / "school-class-codes.png")

    student = browser_page(browser, url)  # no account: a tablet in Year 3
    expect(student.get_by_label("Class code")).to_be_visible()
    assert library_titles(student, url) == []  # no class yet, no stories
    student.goto(f"{url}/s2i/join?code={code}")  # the class link (or its QR code)
    idle(student)
    expect(student.get_by_text("Anna's owls")).to_be_visible()
    assert library_titles(student, url) == ["Anna's owls"]  # kept for the next visit
    open_story(student, url, stories["ben"])  # another class, by its address
    expect(student.get_by_text("That story was not found")).to_be_visible()
    student.screenshot(path=artifacts / "school-student-class.png")

    typed = browser_page(browser, url)  # the code typed on Home
    typed.get_by_label("Class code").fill(code.lower())
    typed.get_by_role("button", name="Open my class").click()
    idle(typed)
    expect(typed.get_by_text("Class: Year 3 Owls").first).to_be_visible()
    kept = lambda: any(c["name"] == "s2i_class" for c in typed.context.cookies())  # noqa: E731
    eventually(kept, 60, "the device to keep its class")
    assert library_titles(typed, url) == ["Anna's owls"]

    anna.goto(url)
    idle(anna)
    anna.get_by_role("button", name="New code").click()  # Anna's one class: a code that got out
    idle(anna)
    expect(anna.get_by_text(f"class code {code}")).to_have_count(0)
    late = browser_page(browser, f"{url}/library?class={code}")
    expect(late.get_by_label("Class code")).to_be_visible()  # the old code opens nothing
    for page in (anna, student, typed, late):
        page.context.close()


def test_sign_out_ends_teacher_mode_in_every_tab(browser, school):
    url, _, _ = school
    first = browser_page(browser, url)
    sign_in(first, url, ANNA)
    second = first.context.new_page()
    second.goto(f"{url}/library")
    idle(second)
    signed_in(second, ANNA)

    first.get_by_role("button", name="Sign out", exact=True).click()
    first.get_by_role("button", name="End session").click()  # the provider's own page
    first.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/.*"))
    idle(first)
    expect(first.get_by_role("button", name="Sign in with School")).to_be_visible()

    second.get_by_test_id("stSidebar").get_by_role("link", name="Home").click()  # a rerun
    idle(second)
    expect(second.get_by_text("Signed in as")).to_have_count(0)
    expect(second.get_by_role("button", name="Sign in with School").first).to_be_visible()
    first.context.close()


def test_a_lesson_that_ended_or_a_refused_sign_in_is_said_and_signing_in_again_works(
    browser, school
):
    url, library, _ = school
    page = browser_page(browser, url)
    sign_in(page, url, BEN)
    signed_in(page, BEN)
    with library.engine.begin() as connection:  # the lesson is over (S2I_TEACHER_HOURS)
        connection.execute(
            text("UPDATE teacher_sessions SET expires_at = 1 WHERE user = :u"), {"u": BEN}
        )
    page.reload()
    idle(page)
    expect(page.get_by_text("Sign in again to go on as a teacher").first).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)

    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign in with School").click()
    page.get_by_role("button", name="Deny").click()  # the provider refuses
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/.*signin=failed"))
    idle(page)
    expect(page.get_by_text("Signing in did not work").first).to_be_visible()

    sign_in(page, url, BEN)  # a fresh sign-in: a new lesson
    signed_in(page, BEN)
    page.context.close()


def test_an_account_not_on_the_teacher_list_gets_the_student_view(browser, school):
    url, _, stories = school
    page = browser_page(browser, url)
    sign_in(page, url, PUPIL)
    expect(
        page.get_by_text(f"{PUPIL} is not on this school's list of teachers").first
    ).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    page.goto(f"{url}/create")
    idle(page)
    expect(page.get_by_text("Only a teacher can create stories")).to_be_visible()
    expect(page.get_by_label("Teacher passcode")).to_have_count(0)  # off with sign-in
    open_story(page, url, stories["anna"])
    expect(page.get_by_text("That story was not found")).to_be_visible()
    page.context.close()


def test_a_sign_in_set_up_that_cannot_work_is_said_at_start_and_on_the_page(
    browser, tmp_path, artifacts
):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/.well-known/openid-configuration"
    port = free_port()
    secrets = secrets_toml(tmp_path, port, nowhere)
    log = artifacts / "school-bad-setup-streamlit.log"
    env = {"S2I_DATA_DIR": str(tmp_path / "data"), "S2I_TEACHERS": "*@school.example"}
    env |= NO_PICTURES
    with app_server(env, log, "--secrets.files", str(secrets), port=port) as url:
        eventually(lambda: "error: Sign-in" in log.read_text(), 60, "the start-up message")
        [line] = [line for line in log.read_text().splitlines() if line.startswith("error:")]
        assert "server_metadata_url of [auth.school]" in line and "cannot be reached" in line
        page = browser_page(browser, url)
        expect(page.get_by_text("cannot be reached").first).to_be_visible()
        expect(page.get_by_text("Traceback")).to_have_count(0)
        page.context.close()
