"""Exports never touch the library: a target inside the data folder, on the database file, or on
an existing file that is not an earlier export of the same kind is refused before any work."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from s2i_core.errors import ExportPathError
from s2i_core.exports.targets import check_target, check_targets, write_replacing
from s2i_core.settings import Settings

MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path) -> Settings:
    """The data folder is the library on either database; on PostgreSQL no file is the database."""
    (tmp_path / "data" / "media" / "1").mkdir(parents=True)
    url = "" if request.param == "sqlite" else "postgresql+psycopg://s2i@127.0.0.1:1/s2i"
    return Settings(data_dir=tmp_path / "data", database_url=url)


def refused(settings: Settings, path: Path, kind: str) -> str:
    with pytest.raises(ExportPathError) as caught:
        check_target(settings, path, kind)
    return str(caught.value)


@pytest.mark.parametrize(
    "inside", ["s2i.db", "queue.db", "media/1/narration.wav", "media/1/frame-1-1.png", "new.pdf"]
)
def test_any_place_in_the_data_folder_is_refused_whether_or_not_a_file_is_there(settings, inside):
    target = settings.data_dir / inside
    target.write_bytes(b"SQLite format 3\x00" if inside.endswith(".db") else b"x")
    if inside == "new.pdf":
        target.unlink()
    message = refused(settings, target, "pdf")
    assert "inside the data folder" in message and "somewhere else" in message


def test_a_link_or_a_roundabout_path_into_the_data_folder_is_refused(settings, tmp_path):
    link = tmp_path / "innocent.pdf"
    link.symlink_to(settings.data_dir / "s2i.db")
    assert "inside the data folder" in refused(settings, link, "pdf")
    roundabout = tmp_path / "elsewhere" / ".." / "data" / "media" / "1" / "story.mp4"
    assert "inside the data folder" in refused(settings, roundabout, "mp4")


def test_a_database_kept_outside_the_data_folder_is_refused_too(tmp_path):
    database = tmp_path / "library" / "school.db"
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{database}")
    for path in (database, database.with_name("school.db-wal")):
        assert "inside the data folder" in refused(settings, path, "pdf")


@pytest.mark.parametrize(
    ("kind", "head", "what"),
    [
        ("pdf", b"SQLite format 3\x00", "a SQLite database"),
        ("pdf", b"\x89PNG\r\n\x1a\n", "a PNG picture"),
        ("pdf", b"RIFF\x00\x00\x00\x00WAVEfmt ", "a RIFF file"),
        ("pdf", MP4_HEAD, "ISO media"),
        ("mp4", b"%PDF-1.7\n", "a PDF"),
        ("mp4", b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00", "'M4A'"),  # sound only
        ("mp4", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "'heic'"),  # a phone's photo
        ("mp4", b"hello, this is a text", "another file"),
    ],
)
def test_an_existing_file_that_is_not_an_earlier_export_is_left_alone(
    settings, tmp_path, kind, head, what
):
    target = tmp_path / f"out.{kind}"
    target.write_bytes(head + b"more")
    message = refused(settings, target, kind)
    assert what in message and "not replaced" in message
    assert target.read_bytes() == head + b"more"


@pytest.mark.parametrize(("kind", "head"), [("pdf", b"%PDF-1.4\n"), ("mp4", MP4_HEAD)])
def test_an_earlier_export_of_the_same_kind_an_empty_file_or_a_new_name_may_be_written(
    settings, tmp_path, kind, head
):
    earlier, empty = tmp_path / f"earlier.{kind}", tmp_path / f"empty.{kind}"
    earlier.write_bytes(head + b"old")
    empty.write_bytes(b"")
    for path in (earlier, empty, tmp_path / f"new.{kind}"):
        check_target(settings, path, kind)


def test_the_pdf_and_the_video_cannot_share_one_file(settings, tmp_path):
    with pytest.raises(ExportPathError, match="both name"):
        check_targets(settings, pdf=tmp_path / "story", mp4=tmp_path / "story")


def test_a_pdf_is_written_beside_and_renamed_so_a_failed_write_leaves_the_old_file(
    tmp_path, monkeypatch
):
    target = tmp_path / "story.pdf"
    target.write_bytes(b"%PDF-old")

    def disk_full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", disk_full)
        with pytest.raises(OSError, match="No space"):
            write_replacing(target, b"%PDF-new")
    assert target.read_bytes() == b"%PDF-old"
    assert [p.name for p in tmp_path.iterdir()] == ["story.pdf"]  # no half-written file left
    write_replacing(target, b"%PDF-new")
    assert target.read_bytes() == b"%PDF-new"
