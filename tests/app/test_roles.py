"""The teacher cookie: signed, expiring, tied to this installation and to the passcode."""

from __future__ import annotations

import stat

from s2i_core.settings import Settings
from s2i_ui.roles import SECRET_FILE, TEACHER_HOURS, make_token, token_valid
from s2i_ui.widgets import file_size

NOW = 1_800_000_000.0


def classroom(data_dir, passcode: str = "river-otter-42") -> Settings:
    return Settings(data_dir=data_dir, teacher_passcode=passcode)


def test_a_token_lasts_the_lesson_and_then_expires(tmp_path):
    settings = classroom(tmp_path)
    token = make_token(settings, now=NOW)
    assert token_valid(settings, token, now=NOW + 60)
    assert token_valid(settings, token, now=NOW + TEACHER_HOURS * 3600 - 1)
    assert not token_valid(settings, token, now=NOW + TEACHER_HOURS * 3600 + 1)


def test_a_forged_or_foreign_token_is_refused(tmp_path):
    settings = classroom(tmp_path / "school")
    token = make_token(settings, now=NOW)
    expires, signature = token.split(".")
    later = f"{int(expires) + 86400}.{signature}"  # the expiry pushed back by hand
    assert not token_valid(settings, later, now=NOW)
    assert not token_valid(settings, f"{expires}.{'0' * len(signature)}", now=NOW)
    for junk in ("", "nonsense", ".", "abc.def", None):
        assert not token_valid(settings, junk, now=NOW)
    # A new passcode, or another installation with the same passcode: not valid there.
    assert not token_valid(classroom(tmp_path / "school", "new-passcode"), token, now=NOW)
    assert not token_valid(classroom(tmp_path / "other-school"), token, now=NOW)
    # Without a passcode there is no teacher mode to keep.
    assert not token_valid(classroom(tmp_path / "school", ""), token, now=NOW)


def test_the_signing_secret_is_random_per_installation_and_private(tmp_path):
    make_token(classroom(tmp_path / "a"), now=NOW)
    make_token(classroom(tmp_path / "b"), now=NOW)
    first, second = (tmp_path / name / SECRET_FILE for name in "ab")
    assert first.read_text() != second.read_text() and len(first.read_text()) == 64
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [SECRET_FILE]


def test_file_sizes_read_as_people_say_them():
    assert [file_size(n) for n in (900, 48_200, 1_250_000)] == ["900 bytes", "48 KB", "1.2 MB"]
