"""What the command line prints: a story as text or JSON, and progress bars on a terminal."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any

from ..settings import Settings


def open_library(settings: Settings):
    from ..storage import Library

    return Library(settings)


def report_story(library, story_id: int, as_json: bool) -> int:
    from ..jobs import progress

    state = progress(library, story_id)
    story = state.story
    if as_json:
        print_json(
            {
                "id": story.id,
                "title": story.title,
                "class": story.class_name,
                "status": story.status,
                "language": story.language,
                "duration": round(story.duration, 3),
                "style": story.style,
                "image_model": story.image_model,
                "bible": story.bible,
                "progress": _progress_json(state),
                "exports": [_export_json(library, job) for job in state.exports],
                "frames": [_frame_json(library, f) for f in story.frames],
            }
        )
        return 0
    print(f"Story {story.id}: {story.title} [{story.status}] {story.language} {story.style}")
    bible = story.bible
    for character in bible.get("characters", []):
        print(f"     {character['name']}: {character['look']}")
    if bible.get("setting"):
        print(f"     Setting: {bible['setting']}")
    if state.last is not None:
        print(f"Progress: {state.summary}")
    for job in state.exports:
        export = _export_json(library, job)
        where = export["path"] or export["error"] or export["detail"]
        print(f"Export ({export['label']}): {job.state}" + (f", {where}" if where else ""))
    for f in story.frames:
        note = f"  ({f.error})" if f.error and f.status != "done" else ""
        print(f"{f.index:>3}  {f.start:6.2f}-{f.end:6.2f}  {f.status:<10} {f.text}{note}")
        if f.scene and f.scene != f.text:
            print(f"     scene ({f.scene_source}): {f.scene}")
    return 0


def _export_json(library, job) -> dict[str, Any]:
    from ..jobs import export_options

    options = export_options(job)
    path = str(library.path(job.detail)) if job.state == "done" else None
    return {
        **options.as_job(),
        "label": options.label,
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "detail": job.detail if job.state != "done" else "",
        "error": job.error or None,
        "path": path,
    }


def _frame_json(library, frame) -> dict[str, Any]:
    image = str(library.path(frame.image_path)) if frame.image_path else None
    return {
        "index": frame.index,
        "start": round(frame.start, 3),
        "end": round(frame.end, 3),
        "text": frame.text,
        "text_en": frame.text_en,
        "scene": frame.scene,
        "scene_source": frame.scene_source,
        "prompt": frame.prompt,
        "status": frame.status,
        "image": image if frame.status == "done" else None,
        "error": frame.error or None,
    }


def _progress_json(state) -> dict[str, Any]:
    return {
        "running": state.running,
        "summary": state.summary,
        "pictures_done": state.pictures_done,
        "frames": len(state.story.frames),
        "jobs": [
            {
                "id": j.id,
                "kind": j.kind,
                "state": j.state,
                "done": j.done,
                "total": j.total,
                "detail": j.detail,
                "error": j.error or None,
            }
            for j in (state.jobs or ([state.last] if state.last else []))
        ],
    }


def sentence_json(s) -> dict[str, Any]:
    return {
        "index": s.index,
        "start": round(s.start, 3),
        "end": round(s.end, 3),
        "text": s.text,
        "text_en": s.text_en,
        "english_left_out": s.english_problem,  # why Whisper's English line was not used
    }


def summary_json(s) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "class": s.class_name,
        "created_at": s.created_at.isoformat(),
        "language": s.language,
        "frames": s.frame_count,
        "done": s.done_count,
        "status": s.status,
    }


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


@contextmanager
def spinner(label: str):
    if sys.stderr.isatty():
        print(f"{label}…", file=sys.stderr, flush=True)
    yield


@contextmanager
def progress_fraction(label: str):
    """A percentage bar on stderr when attached to a terminal, fed fractions from 0 to 1."""
    from tqdm import tqdm

    with tqdm(total=100, desc=label, unit="%", disable=not sys.stderr.isatty()) as bar:
        yield lambda fraction: bar.update(round(fraction * 100) - bar.n)


@contextmanager
def progress_bar(total: int | None, label: str):
    """A progress bar of finished frames on stderr when attached to a terminal; silent otherwise.
    With ``total=None`` the total grows as the narration yields sentences."""
    from tqdm import tqdm

    with tqdm(total=total or 0, desc=label, unit="frame", disable=not sys.stderr.isatty()) as bar:

        def advance(event) -> None:
            if event.kind == "frame_added" and total is None:
                bar.total += 1
                bar.refresh()
            elif event.kind == "frame_done":
                bar.set_postfix_str(f"frame {event.frame.index}: {event.frame.status}")
                bar.update(1)

        yield advance
