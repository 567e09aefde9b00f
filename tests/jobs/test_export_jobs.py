"""Exports on the job queue: a worker makes the PDF or the narrated video into the story's media
folder, the same story reuses it, a changed story gets a fresh one, a cancelled video leaves
nothing behind, and a failure says what to do."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from pypdf import PdfReader

from s2i_core.exports.stored import ExportOptions, find
from s2i_core.jobs import JobBook, JobRecord, cancel_export, progress, queue_export
from s2i_core.jobs.registry import run_job
from s2i_core.jobs.runtime import runtime_for
from s2i_core.jobs.worker import WorkerPool
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from tests.cli.test_cli import cli_env, run_cli
from tests.exports.test_video import BLUE, RED, striped
from tests.jobs.test_jobs import wait_for

NARRATION = Path(__file__).parents[1] / "fixtures" / "fr_story.wav"  # 7.3 s
SENTENCES = ["Le renard voit un ballon.", "Le ballon vole.", "Le renard rentre."]
PDF, VIDEO = ExportOptions("pdf"), ExportOptions("video")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, work_lease_s=4.0)


@pytest.fixture
def library(settings: Settings) -> Iterator[Library]:
    with Library(settings) as library:
        yield library


@pytest.fixture
def worker(settings: Settings) -> Iterator[WorkerPool]:
    """A real worker serving the pictures queue (the queue exports go on), on SQLite."""
    pool = WorkerPool(settings, queues=["pictures"]).start()
    yield pool
    pool.stop()


def told_story(library: Library, pictures: bool = True) -> int:
    story = library.create_story(
        "Le renard", language="fr", duration=7.3, narration=NARRATION.read_bytes()
    )
    drafts = [
        FrameDraft(i, 2.2 * i, 2.2 * i + 2.0, text, f"The fox, part {i}.")
        for i, text in enumerate(SENTENCES)
    ]
    frames = library.set_frames(story.id, drafts)
    if pictures:
        for frame, color in zip(frames, (RED, BLUE, RED), strict=True):
            library.save_frame_result(frame.id, "done", image=striped(color))
    return story.id


def finished(library: Library, job: JobRecord) -> JobRecord:
    book = JobBook(library)
    wait_for(lambda: not book.get(job.id).active, timeout=240, what=f"export job {job.id}")
    return book.get(job.id)


def export_files(library: Library, story_id: int) -> list[Path]:
    """Everything in the story's export folder, hidden temporary files included."""
    folder = library.media_dir / str(story_id) / "exports"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_a_worker_makes_the_pdf_and_the_same_story_reuses_it(settings, library, worker):
    story_id = told_story(library)
    job = finished(library, queue_export(settings, library, story_id, PDF))
    assert job.state == "done", job.error
    path = library.path(job.detail)
    reader = PdfReader(path)
    assert len(reader.pages) == 1 + 2  # the title page, then two frames a page
    assert [len(page.images) for page in reader.pages] == [0, 2, 1]
    made = path.stat()

    again = finished(library, queue_export(settings, library, story_id, PDF))
    assert again.state == "done" and again.detail == job.detail
    assert path.stat().st_mtime_ns == made.st_mtime_ns  # the same file, not made again
    assert export_files(library, story_id) == [path]
    assert not progress(library, story_id).running  # an export is not the story's own work


def test_a_story_changed_after_its_export_gets_a_fresh_one(settings, library, worker):
    story_id = told_story(library)
    first = finished(library, queue_export(settings, library, story_id, PDF))
    frames = library.get_story(story_id).frames
    library.update_frame_text(frames[1].id, "Le ballon rouge vole haut.")

    edited = finished(library, queue_export(settings, library, story_id, PDF))
    assert edited.state == "done" and edited.detail != first.detail
    assert "rouge" in pdf_text(library.path(edited.detail))
    assert export_files(library, story_id) == [library.path(edited.detail)]  # the old one went

    library.save_frame_result(frames[0].id, "done", image=striped(BLUE))  # a picture redrawn
    redrawn = finished(library, queue_export(settings, library, story_id, PDF))
    assert redrawn.state == "done" and redrawn.detail not in (first.detail, edited.detail)


def test_a_worker_makes_the_narrated_video_and_reports_its_progress(settings, library, worker):
    story_id = told_story(library)
    job = finished(library, queue_export(settings, library, story_id, VIDEO))
    assert job.state == "done", job.error
    assert job.fraction == 1.0 and job.detail.endswith(".mp4")
    with av.open(str(library.path(job.detail))) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 1280, 720)
        assert audio.codec_context.name == "aac"
        assert container.duration / 1e6 == pytest.approx(7.27, abs=0.1)
    assert progress(library, story_id).exports[-1].id == job.id


def test_a_cancelled_video_export_leaves_no_file(settings, library, monkeypatch):
    """The teacher presses stop as the encoder reports its first second of video."""
    story_id = told_story(library)
    job = queue_export(settings, library, story_id, VIDEO)
    runtime = runtime_for(settings)
    report = runtime.book.progress

    def stopped_midway(job_id: int, done: float, total: float, detail: str) -> bool:
        if done > 0:
            assert cancel_export(library, JobBook(library).get(job_id))
        return report(job_id, done, total, detail)

    monkeypatch.setattr(runtime.book, "progress", stopped_midway)
    assert run_job(runtime, job.id) == "cancelled"
    assert JobBook(library).get(job.id).state == "cancelled"
    assert export_files(library, story_id) == []


@pytest.mark.parametrize(
    ("options", "drawn", "message"),
    [
        (PDF, False, "No picture of “Le renard” has been drawn yet"),
        (VIDEO, True, "could not be saved"),  # the folder cannot be made: a file is in the way
    ],
)
def test_an_export_that_cannot_be_made_says_why(settings, library, options, drawn, message):
    story_id = told_story(library, pictures=drawn)
    if drawn:
        (library.media_dir / str(story_id) / "exports").write_text("in the way")
    job = queue_export(settings, library, story_id, options)
    assert run_job(runtime_for(settings), job.id) == "failed"
    failed = JobBook(library).get(job.id)
    assert message in failed.error and "Unexpected" not in failed.error


def test_export_enqueue_returns_at_once_and_show_follows_it(settings, library, tmp_path):
    story_id = told_story(library)
    env = cli_env(tmp_path)
    queued = run_cli("export", story_id, "--enqueue", "pdf", env=env)
    assert int(queued.stdout) == story_id and "show" in queued.stderr
    (export,) = json.loads(run_cli("show", story_id, "--json", env=env).stdout)["exports"]
    assert (export["format"], export["state"], export["path"]) == ("pdf", "queued", None)

    (job,) = JobBook(library).of_story(story_id)
    assert run_job(runtime_for(settings), job.id) == "done"
    (export,) = json.loads(run_cli("show", story_id, "--json", env=env).stdout)["exports"]
    assert export["state"] == "done" and len(PdfReader(export["path"]).pages) == 3
    assert "Export (PDF): done, " + export["path"] in run_cli("show", story_id, env=env).stdout
    assert os.path.dirname(export["path"]).endswith(f"{story_id}/exports")


def test_an_export_of_an_older_version_never_removes_the_newer_one(settings, library, monkeypatch):
    """The story is edited while its video is being made, and the new version's video is made
    before the first one ends: the first one, finishing last, leaves the newer file in place."""
    story_id = told_story(library)
    first = queue_export(settings, library, story_id, VIDEO)
    runtime = runtime_for(settings)
    report = runtime.book.progress
    newer: list[JobRecord] = []

    def edited_midway(job_id: int, done: float, total: float, detail: str) -> bool:
        if job_id == first.id and done > 0 and not newer:
            frame = library.get_story(story_id).frames[0]
            library.update_frame_text(frame.id, "Le renard voit un ballon rouge.")
            newer.append(queue_export(settings, library, story_id, VIDEO))
            assert run_job(runtime, newer[0].id) == "done"
        return report(job_id, done, total, detail)

    monkeypatch.setattr(runtime.book, "progress", edited_midway)
    assert run_job(runtime, first.id) == "done"
    book = JobBook(library)
    older, latest = book.get(first.id).detail, book.get(newer[0].id).detail
    assert older != latest
    assert export_files(library, story_id) == sorted(library.path(p) for p in (older, latest))
    assert find(library, library.get_story(story_id), VIDEO) == library.path(latest)


def test_a_finished_story_gets_its_pdf_and_video_queued_once(settings, library, worker):
    """Students only download: a story's exports are asked for when its drawing ends."""
    from s2i_core.jobs.queues import open_queues
    from s2i_core.jobs.registry import export_when_complete

    runtime, queues = runtime_for(settings), open_queues(settings)
    waiting = told_story(library, pictures=False)
    assert (
        export_when_complete(runtime, waiting, queues) == []
    )  # pictures still to come: nothing yet

    story_id = told_story(library)
    jobs = export_when_complete(runtime, story_id, queues)
    assert sorted(j.spec.format for j in jobs) == ["pdf", "video"]
    assert export_when_complete(runtime, story_id, queues) == []  # being made: not asked for twice
    for job in jobs:
        assert finished(library, job).state == "done"
    story = library.get_story(story_id)
    assert find(library, story, PDF) is not None and find(library, story, VIDEO) is not None
    assert export_when_complete(runtime, story_id, queues) == []  # made for this version already


def test_a_workers_drawing_that_finishes_a_story_queues_its_exports(settings, library):
    from s2i_core.jobs import queue_pictures
    from s2i_core.jobs.queues import open_queues

    story_id = told_story(library)  # every picture there: the drawing finds nothing left
    job = queue_pictures(settings, library, library.get_story(story_id))
    # as a worker's queue runs it (s2i_core.jobs.queues): what follows goes on those queues
    assert run_job(runtime_for(settings), job.id, queues=open_queues(settings)) == "done"
    queued = [j for j in JobBook(library).of_story(story_id) if j.kind == "export"]
    assert sorted(j.spec.format for j in queued) == ["pdf", "video"]
