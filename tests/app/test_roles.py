"""Teacher sessions no student can break or borrow: wrong passcodes slow down only the browser
(and the address) that sent them, the whole app only ever slows down, and sessions are held on
the server, where Lock ends them."""

from __future__ import annotations

import stat

import pytest

from s2i_core.settings import Settings
from s2i_core.storage import Library, PasscodeThrottle, SessionBook
from s2i_core.storage.sessions import TICKET_S
from s2i_core.storage.throttle import (
    ADDRESS_FREE_TRIES,
    BROWSER_FREE_TRIES,
    OVERALL_PER_MINUTE,
    PATIENCE_S,
)
from s2i_ui.roles import SECRET_FILE, passcode_user
from s2i_ui.widgets import file_size
from tests.fake_clock import FakeClock

PASSCODE = "river-otter-42"


@pytest.fixture
def library(tmp_path):
    with Library(Settings(data_dir=tmp_path)) as library:
        yield library


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_800_000_000.0)


def test_wrong_passcodes_slow_down_their_browser_and_no_other(library, clock):
    throttle = PasscodeThrottle(library.engine, clock=clock, sleep=clock.sleep)
    seen = [throttle.check(PASSCODE, f"guess-{n}", "browser-a") for n in range(BROWSER_FREE_TRIES)]
    assert not any(seen) and "next try is possible in 30 s" in seen[-1].message
    refused = throttle.check(PASSCODE, PASSCODE, "browser-a")  # not even compared while waiting
    assert not refused and "Too many wrong passcodes" in refused.message

    assert throttle.check(PASSCODE, PASSCODE, "browser-b")  # the teacher's browser: at once
    assert clock.slept == []

    clock.advance(31)  # after the wait, browser A gets one try, and the right one clears it
    assert throttle.check(PASSCODE, PASSCODE, "browser-a")
    assert throttle.check(PASSCODE, "guess", "browser-a").message.endswith(
        "Ask the person who set up the app."
    )


def test_many_browsers_at_one_address_are_slowed_together(library, clock):
    """Private windows on one tablet are new browsers each time; their address still counts."""
    throttle = PasscodeThrottle(library.engine, clock=clock, sleep=clock.sleep)
    for n in range(ADDRESS_FREE_TRIES):
        assert not throttle.check(PASSCODE, "guess", f"private-window-{n}", "10.0.0.7")
    fresh_window = throttle.check(PASSCODE, PASSCODE, "private-window-new", "10.0.0.7")
    assert not fresh_window and "Too many wrong passcodes" in fresh_window.message
    assert throttle.check(PASSCODE, PASSCODE, "teacher-laptop", "10.0.0.8")


def test_guessing_from_everywhere_only_slows_the_app_down(library, clock):
    """The app's ceiling never locks: past it each try waits its turn, the right one too."""
    throttle = PasscodeThrottle(library.engine, clock=clock, sleep=clock.sleep)
    for n in range(OVERALL_PER_MINUTE):
        assert not throttle.check(PASSCODE, "guess", f"browser-{n}", f"10.0.1.{n}")
    assert clock.slept == []
    assert throttle.check(PASSCODE, PASSCODE, "teacher", "10.0.2.1")  # waited, then compared
    assert 0 < sum(clock.slept) <= 60


def test_a_try_that_would_wait_too_long_for_its_turn_says_so(library, clock, monkeypatch):
    throttle = PasscodeThrottle(library.engine, clock=clock, sleep=clock.sleep)
    for n in range(OVERALL_PER_MINUTE):
        throttle.check(PASSCODE, "guess", f"browser-{n}", f"10.0.1.{n}")
    monkeypatch.setattr("s2i_core.storage.throttle.PATIENCE_S", 1.0)
    busy = throttle.check(PASSCODE, PASSCODE, "teacher", "10.0.2.1")
    assert not busy and "every try waits its turn" in busy.message and busy.wait_s > 1
    assert PATIENCE_S >= 60


def test_a_ticket_is_swapped_for_a_cookie_once_in_time_by_its_own_browser(library, clock):
    book = SessionBook(library.engine, clock=clock)
    session = book.open("passcode:abc", hours=8, browser="laptop", device="Firefox on Linux")

    ticket = book.ticket(session.id, "laptop")
    assert book.redeem(ticket, "someone-else") is None  # another browser: refused, and used up
    assert book.redeem(ticket, "laptop") is None

    late = book.ticket(session.id, "laptop")
    clock.advance(TICKET_S + 1)
    assert book.redeem(late, "laptop") is None

    token, redeemed = book.redeem(book.ticket(session.id, "laptop"), "laptop")
    assert redeemed.id == session.id and book.by_token(token).id == session.id
    assert book.redeem(ticket, "laptop") is None and book.by_token("forged") is None


def test_lock_ends_the_session_for_every_copy_of_its_cookie(library, clock):
    book = SessionBook(library.engine, clock=clock)
    session = book.open("passcode:abc", hours=8, browser="laptop")
    token, _ = book.redeem(book.ticket(session.id, "laptop"), "laptop")
    assert book.revoke(session.id) == 1
    assert book.by_token(token).ended and book.live(session.id) is None


def test_lock_on_every_device_ends_all_of_one_teachers_sessions(library, clock):
    book = SessionBook(library.engine, clock=clock)
    mine = [book.open("passcode:abc", hours=8, browser=name) for name in ("laptop", "tablet")]
    other = book.open("head@school.example", hours=8, browser="office")
    assert len(book.of_user("passcode:abc")) == 2
    assert book.revoke_user("passcode:abc") == 2
    assert [book.live(s.id) for s in mine] == [None, None] and book.live(other.id)


def test_a_session_ends_after_the_lesson(library, clock):
    book = SessionBook(library.engine, clock=clock)
    session = book.open("passcode:abc", hours=8, browser="laptop")
    clock.advance(8 * 3600 - 1)
    assert book.live(session.id)
    clock.advance(2)
    assert book.live(session.id) is None
    assert book.live(True) is None and book.live("1") is None  # only ids the server handed out


def test_passcode_sessions_belong_to_the_passcode_and_the_installation(tmp_path):
    school = passcode_user(Settings(data_dir=tmp_path / "a", teacher_passcode=PASSCODE))
    assert school == passcode_user(Settings(data_dir=tmp_path / "a", teacher_passcode=PASSCODE))
    assert school != passcode_user(Settings(data_dir=tmp_path / "a", teacher_passcode="new-one"))
    assert school != passcode_user(Settings(data_dir=tmp_path / "b", teacher_passcode=PASSCODE))
    assert PASSCODE not in school
    secret = tmp_path / "a" / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_text()) == 64


def test_file_sizes_read_as_people_say_them():
    assert [file_size(n) for n in (900, 48_200, 1_250_000)] == ["900 bytes", "48 KB", "1.2 MB"]
