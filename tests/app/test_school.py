"""A whole school on one server: who sees and changes which story, class codes, pictures per
teacher per day, the sign-in set-up, and the pages under AppTest with a signed-in account
(``AppTest.user``). The browser tests with a real OpenID Connect provider are in
tests/e2e/test_school.py."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from s2i_core.errors import PictureLimitError
from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.storage import ADMIN, STUDENT, TEACHER, ClassBook, FrameDraft, Library, Viewer
from s2i_core.storage.access import can_edit, can_manage, can_see, first_admin
from s2i_core.storage.quota import check_allowance, pictures_today
from s2i_ui import signin
from tests.nvidia_stub import draw_picture

ROOT = Path(__file__).resolve().parents[2]
ANNA, BEN, HEAD = "anna@school.example", "ben@school.example", "head@school.example"
STORY = "app_pages/story.py"


@pytest.fixture
def library(tmp_path):
    with Library(Settings(data_dir=tmp_path)) as library:
        yield library


def seed(library: Library, title: str, owner: str, class_name: str = "", shared=False) -> int:
    story = library.create_story(title=title, class_name=class_name, language="en", owner=owner)
    library.set_frames(story.id, [FrameDraft(0, 0.0, 3.0, title, title, prompt=title)])
    if shared:
        library.update_story(story.id, shared=True)
    return story.id


# --- who sees what -----------------------------------------------------------------------------
def test_teachers_see_their_own_and_shared_stories_and_admins_every_one(library):
    mine, theirs, shared = (
        seed(library, "Anna's owls", ANNA, "3 Owls"),
        seed(library, "Ben's foxes", BEN, "4 Foxes"),
        seed(library, "Ben's shared bears", BEN, "4 Foxes", shared=True),
    )
    anna, admin = Viewer(TEACHER, user=ANNA), Viewer(ADMIN, user=HEAD)
    titles = {s.id for s in library.list_stories(viewer=anna)}
    assert titles == {mine, shared} and library.count_stories(viewer=anna) == 2
    assert {s.id for s in library.list_stories(viewer=admin)} == {mine, theirs, shared}

    stories = {sid: library.get_story(sid) for sid in (mine, theirs, shared)}
    assert [can_see(anna, stories[s]) for s in (mine, theirs, shared)] == [True, False, True]
    assert [can_edit(anna, stories[s]) for s in (mine, theirs, shared)] == [True, False, True]
    assert [can_manage(anna, stories[s]) for s in (mine, theirs, shared)] == [True, False, False]
    assert all(can_manage(admin, story) for story in stories.values())


def test_a_student_sees_only_the_class_their_code_opened(library):
    seed(library, "Anna's owls", ANNA, "3 Owls")
    seed(library, "Ben's foxes", BEN, "4 Foxes")
    owls = Viewer(STUDENT, class_name="3 Owls")
    assert [s.title for s in library.list_stories(viewer=owls)] == ["Anna's owls"]
    assert library.class_names(owls) == ["3 Owls"]
    assert library.list_stories(viewer=Viewer(STUDENT)) == []  # school mode, no code yet
    assert len(library.list_stories(viewer=Viewer(STUDENT, every_class=True))) == 2  # classroom
    assert not can_edit(owls, library.get_story(1))


def test_class_codes_are_short_unambiguous_and_a_new_one_retires_the_old(library):
    book = ClassBook(library.engine)
    code = book.code_for("3 Owls")
    assert len(code) == 6 and not set(code) & set("01IO") and book.code_for("3 Owls") == code
    assert book.class_of(code.lower()) == "3 Owls" and book.class_of(f" {code[:3]} {code[3:]}")
    assert book.code_for("4 Foxes") != code
    new = book.rotate("3 Owls")
    assert new != code and book.class_of(code) is None and book.class_of(new) == "3 Owls"
    assert book.class_of("") is None and book.class_of("DROP TABLE") is None


def test_old_stories_go_to_the_first_admin_with_their_class(tmp_path, monkeypatch):
    with Library(Settings(data_dir=tmp_path)) as library:
        seed(library, "Made with the passcode", "", "2 Robins")
        assert library.adopt_unowned(HEAD) == 1
        story = library.get_story(1)
        assert (story.owner, story.class_name, story.shared) == (HEAD, "2 Robins", False)
    assert first_admin(Settings(admins="*@school.example, head@school.example")) == HEAD
    assert first_admin(Settings(admins="")) == ""


# --- pictures per teacher per day --------------------------------------------------------------
def test_pictures_are_counted_per_owner_and_day_and_a_teacher_past_the_limit_is_told(library):
    story_id = seed(library, "Anna's owls", ANNA)
    frame = library.get_story(story_id).frames[0]
    picture = draw_picture("owls", 64, 64)
    for _ in range(2):
        library.save_frame_result(frame.id, "done", image=picture, thumbnail=picture)
    library.save_frame_result(frame.id, "failed", error="no")  # no picture, not counted
    assert pictures_today(library.engine, ANNA) == 2 and pictures_today(library.engine, BEN) == 0
    library.delete_story(story_id)  # deleting a story gives nothing back
    assert pictures_today(library.engine, ANNA) == 2

    check_allowance(library.engine, ANNA, 3, 1)
    with pytest.raises(PictureLimitError, match="only 1 more today: 2 were asked for"):
        check_allowance(library.engine, ANNA, 3, 2)
    check_allowance(library.engine, ANNA, 0, 99)  # 0: no limit
    assert date.today().isoformat()  # the day is the server's calendar day


# --- the sign-in set-up ------------------------------------------------------------------------
GOOD = {
    "redirect_uri": "https://storyboards.school.example/oauth2callback",
    "cookie_secret": "x" * 40,
    "google": {
        "client_id": "id",
        "client_secret": "secret",
        "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
    },
}


def reachable(url: str) -> None:
    return None


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"cookie_secret": ""}, "[auth] has no cookie_secret"),
        ({"redirect_uri": ""}, "has no redirect_uri"),
        ({"google": {"client_id": "id"}}, "[auth.google] in .streamlit/secrets.toml has no"),
        ({"google": "not a table"}, "names no provider"),
    ],
)
def test_a_sign_in_set_up_that_cannot_work_is_said_in_one_sentence(change, said):
    message = signin.problem(GOOD | change, reach=reachable)
    assert said in message and message.startswith(signin.SETUP) and "\n" not in message


def test_an_unreachable_provider_is_named(monkeypatch):
    assert signin.problem(GOOD, reach=reachable) is None
    message = signin.problem(GOOD, reach=lambda url: "cannot be reached (ConnectError)")
    assert "server_metadata_url of [auth.google]" in message and "cannot be reached" in message


def test_teachers_and_admins_are_matched_by_address_and_domain():
    assert signin.listed(ANNA, "*@school.example, head@other.example")
    assert signin.listed("head@other.example", "*@school.example; head@other.example")
    assert not signin.listed("anna@school.example.evil", "*@school.example")
    assert not signin.listed("", "*") and not signin.listed(ANNA, "")
    assert signin.email_of({"email": "Anna@School.Example"}) == ANNA
    assert signin.email_of({"email": ANNA, "email_verified": False}) == ""
    one = {"provider": "google", "sub": "1", "iat": 10, "nonce": "a"}
    assert signin.login_id(one) != signin.login_id(one | {"iat": 11})


# --- the pages, signed in (AppTest) ------------------------------------------------------------
@pytest.fixture
def school(tmp_path, monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_TEACHERS", "*@school.example")
    monkeypatch.setenv("S2I_ADMINS", HEAD)
    monkeypatch.setenv("S2I_TEACHER_PASSCODE", "river-otter-42")
    monkeypatch.setenv("S2I_APP_WORKER", "none")
    monkeypatch.setattr(signin, "metadata_problem", reachable)
    signin.setup_problem.clear()
    with Library(Settings.load()) as library:
        yield library


def as_user(email: str, page: str | None = None, **query: str) -> AppTest:
    """Home.py as ``email`` signed in with the school account just now."""
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    at.secrets["auth"] = GOOD
    at.user = signed_in_user(email)
    if page:
        at.switch_page(page)
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def signed_in_user(email: str) -> dict:
    claims = {"provider": "google", "sub": email, "iat": time.time(), "nonce": "n"}
    return {"is_logged_in": True, "email": email} | claims


def shown(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "success", "error", "warning")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_a_teacher_cannot_open_or_change_another_teachers_private_story(school):
    bens = seed(school, "Ben's foxes", BEN, "4 Foxes")
    at = as_user(ANNA, STORY, story=str(bens), confirm_delete=str(bens), delete_yes="true")
    at.session_state["confirm_delete"] = bens  # a replayed "Yes, delete it" for Ben's story
    at.run()
    assert not at.exception
    assert "That story was not found" in shown(at) and "Ben's foxes" not in shown(at)
    assert not [b for b in at.button if b.label.startswith(("Delete", "Yes, delete", "Generate"))]
    assert school.get_story(bens).title == "Ben's foxes"

    forged = AppTest.from_function(forged_redraw, default_timeout=60)  # straight at the handler
    forged.secrets["auth"] = GOOD
    forged.user = signed_in_user(ANNA)
    forged.query_params["story"] = str(bens)
    forged.run()
    assert "another teacher's and not shared" in forged.error[0].value


def forged_redraw() -> None:
    """A replayed "Generate missing pictures" for a story the page never offered it for."""
    import streamlit as st

    from s2i_ui import resources, storyboard

    settings = resources.settings()
    story = resources.library(settings).get_story(int(st.query_params["story"]))
    storyboard.request_generation(settings, story)


def test_a_signed_in_teachers_story_is_theirs_and_sharing_shows_it_to_others(school):
    annas = seed(school, "Anna's owls", ANNA, "3 Owls")
    at = as_user(ANNA, STORY, story=str(annas))
    assert "Teacher tools" in [e.label for e in at.expander]
    [share] = [t for t in at.toggle if t.label == "Share with the school"]
    share.set_value(True).run()
    assert school.get_story(annas).shared
    ben = as_user(BEN, STORY, story=str(annas))
    assert "Teacher tools" in [e.label for e in ben.expander]  # shared: Ben may change it
    assert not [t for t in ben.toggle if t.label == "Share with the school"]  # not Ben's


def test_with_sign_in_the_passcode_is_off_and_others_get_the_student_view(school):
    at = as_user("pupil@other.example")
    text = shown(at)
    assert "is not on this school's list of teachers" in text and "Student view" in text
    assert not [t for t in at.text_input if t.label == "Teacher passcode"]
    assert [t for t in at.text_input if t.label == "Class code"]
    head = as_user(HEAD)
    assert "Signed in as head@school.example (admin)." in shown(head)


def test_a_teacher_sees_todays_pictures_and_cannot_ask_for_more_than_are_left(school, monkeypatch):
    from s2i_core import jobs

    monkeypatch.setenv("S2I_PICTURES_PER_TEACHER_DAY", "2")
    annas = seed(school, "Anna's owls", ANNA, "3 Owls")
    school.set_frames(
        annas, [FrameDraft(i, 3.0 * i, 3.0 * i + 3, f"Owl {i}.", f"Owl {i}.") for i in range(3)]
    )
    assert "Pictures today: 0 of 2 (2 left" in shown(as_user(ANNA))
    with pytest.raises(PictureLimitError, match="only 2 more today: 3 were asked for"):
        jobs.queue_pictures(Settings.load(), school, school.get_story(annas))
    assert jobs.JobBook(school).of_story(annas) == []  # nothing was queued
