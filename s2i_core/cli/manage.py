"""``models``, ``export``, ``list``, ``show``, ``delete``, ``cancel`` and ``worker``: the library
and the workers, from the command line."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..errors import ExportPathError
from ..settings import Settings
from .output import open_library, print_json, progress_fraction, report_story, summary_json
from .parser import UsageError


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from ..pictures import catalogue, choose_backend

    choice = choose_backend(settings)
    models = catalogue(settings)
    if args.json:
        print_json(
            {
                "backend": {"name": choice.name, "label": choice.label, "detail": choice.detail},
                "default": next(iter(models), None),
                "models": [model.options() for model in models.values()],
            }
        )
        return 0
    print(f"Pictures: {choice.label}. {choice.detail}")
    for number, model in enumerate(models.values()):
        default = "  (default)" if number == 0 else ""
        print(f"\n{model.id}{default}\n  {model.label}. {model.note}".rstrip())
        for name, value in _model_lines(model):
            print(f"  {name:<9}{value}")
    return 0


def _model_lines(model) -> list[tuple[str, str]]:
    def listed(values, default) -> str:
        return ", ".join(f"{v} (default)" if v == default else v for v in values)

    low, high = model.steps
    lines = [
        ("aspect", listed(model.shapes, model.default_shape)),
        ("steps", f"{low}-{high} (default {model.default_steps})"),
    ]
    if model.cfg is None:
        lines.append(("cfg", "none (the model takes no guidance scale)"))
    else:
        lines.append(("cfg", f"{model.cfg.describe()} (default {model.cfg.default:g})"))
    if model.samplers:
        lines.append(("sampler", listed(model.samplers, model.default_sampler)))
    lines.append(("seed", "0-4294967295 (0: random)"))
    return lines


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from ..exports import VideoOptions, export_path, export_pdf, export_video, missing_note
    from ..exports.targets import check_targets, write_replacing

    if args.enqueue:
        if args.pdf or args.mp4:
            raise UsageError("--enqueue keeps the export in the data folder: drop --pdf/--mp4.")
        return _enqueue_export(open_library(settings), settings, args)
    if not args.pdf and not args.mp4:
        raise UsageError("Say what to write: --pdf PATH, --mp4 PATH, or both.")
    library = open_library(settings)
    story = library.get_story(args.story_id)
    # a folder gets a file named from the title: "Canción del jardín.pdf"
    args.pdf, args.mp4 = (
        export_path(p, story.title, s) for p, s in ((args.pdf, ".pdf"), (args.mp4, ".mp4"))
    )
    check_targets(settings, pdf=args.pdf, mp4=args.mp4)  # never into the library
    if note := missing_note(story):
        print(f"warning: {note}", file=sys.stderr)
    if args.pdf:
        _make_parent(args.pdf)
        write_replacing(args.pdf, export_pdf(story, library))
        print(f"Wrote {args.pdf} ({len(story.frames)} frames).", file=sys.stderr)
    if args.mp4:
        _make_parent(args.mp4)
        with progress_fraction("Video") as progress:
            video = export_video(story, library, args.mp4, VideoOptions(args.resolution), progress)
        print(
            f"Wrote {video.path} ({video.duration:.1f} s, {args.resolution}, "
            f"{video.bytes / 1e6:.1f} MB).",
            file=sys.stderr,
        )
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    library = open_library(settings)
    total = library.count_stories(query=args.search)
    stories = library.list_stories(query=args.search, limit=max(total, 1))
    if args.json:
        print_json([summary_json(s) for s in stories])
        return 0
    for s in stories:
        print(
            f"{s.id:>5}  {s.created_at:%Y-%m-%d}  {s.language or '--':>3}  "
            f"{s.done_count:>2}/{s.frame_count:<2}  {s.status:<10}  {s.title}"
            + (f"  ({s.class_name})" if s.class_name else "")
        )
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    return report_story(open_library(settings), args.story_id, args.json)


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    library = open_library(settings)
    story = library.get_story(args.story_id)
    library.delete_story(story.id)
    print(f"Deleted story {story.id} ({story.title}).", file=sys.stderr)
    return 0


def cmd_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs import cancel

    library = open_library(settings)
    story = library.get_story(args.story_id)
    stopped = cancel(library, story.id)
    print(
        f"Cancelled {stopped} job{'s' if stopped != 1 else ''} of story {story.id}; "
        "everything finished so far is kept."
        if stopped
        else f"Story {story.id} has no queued or running job.",
        file=sys.stderr,
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs import QUEUES
    from ..jobs.worker import WorkerPool

    if args.workers is not None and not 1 <= args.workers <= 64:
        raise UsageError("--workers must be between 1 and 64.")
    queues = QUEUES if args.queue == "all" else (args.queue,)
    if not args.verbose:
        logging.getLogger("s2i_core").setLevel(logging.INFO)
    WorkerPool(settings, queues, args.workers).run()
    return 0


def _enqueue_export(library, settings: Settings, args: argparse.Namespace) -> int:
    from ..exports.stored import ExportOptions, require_content
    from ..jobs import queue_export

    story = library.get_story(args.story_id)
    options = ExportOptions(args.enqueue, args.resolution)
    require_content(story, options)
    queue_export(settings, library, story.id, options)
    print(f"Queued the {options.label} of story {story.id}; follow it with 'show {story.id}'.",
          file=sys.stderr)  # fmt: skip
    print(story.id)
    return 0


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportPathError(
            f"Cannot write to {path}: its folder cannot be made ({error.strerror or error}). "
            "Choose a folder you can write to."
        ) from error
