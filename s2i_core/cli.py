"""Command line: ``python -m s2i_core transcribe|story|regenerate|export|list|show|delete|models|
cancel|worker``.

Exit codes: 0 success, 2 bad input (one ``error:`` line on stderr), 1 any other failure.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ExportPathError, S2IError, StoryBusyError
from .settings import Settings

log = logging.getLogger("s2i_core")


class UsageError(S2IError):
    user_error = True


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{message} (see 'python -m s2i_core {self.prog.split()[-1]} --help').")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="s2i_core", description="Turn spoken stories into storyboards.")
    parser.add_argument("--version", action="version", version=f"s2i_core {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("transcribe", help="print what was said, sentence by sentence")
    p.add_argument("audio", type=Path)
    p.add_argument("--language", help="language code (e.g. en, es, hi); default: detect")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("story", help="transcribe, make one picture per sentence, save")
    p.add_argument("audio", type=Path)
    p.add_argument("--title", required=True)
    p.add_argument("--class", dest="class_name", default="")
    p.add_argument("--style", default=None, help="storybook, crayon, comic, clay, photo, pixel")
    p.add_argument("--characters", default="", help="characters and setting, for every frame")
    p.add_argument("--language")
    _picture_options(p)
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--enqueue",
        action="store_true",
        help="save the narration, print the story id and leave the work to the workers",
    )

    p = sub.add_parser(
        "regenerate", help="finish a story: transcribe what is missing, draw missing pictures"
    )
    p.add_argument("story_id", type=story_id)
    p.add_argument("--frame", type=frame_index, help="only this frame (its index, from 0)")
    _picture_options(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--enqueue", action="store_true", help="leave the drawing to the workers")

    p = sub.add_parser("models", help="list the picture models with their options and defaults")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="write a story as a PDF and/or a narrated MP4 video")
    p.add_argument("story_id", type=story_id)
    p.add_argument("--pdf", type=Path, help="write the printable storyboard here")
    p.add_argument("--mp4", type=Path, help="write the narrated video here")
    p.add_argument("--resolution", choices=("720p", "1080p"), default="720p", help="of the video")
    p.add_argument(
        "--enqueue",
        choices=("pdf", "video"),
        help="leave making it to the workers (kept in the story's media folder; see 'show')",
    )

    p = sub.add_parser("list", help="list saved stories")
    p.add_argument("--search", default="")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("show", help="show one story")
    p.add_argument("story_id", type=story_id)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("delete", help="delete a story and its files")
    p.add_argument("story_id", type=story_id)

    p = sub.add_parser("cancel", help="stop a story's queued and running jobs")
    p.add_argument("story_id", type=story_id)

    p = sub.add_parser("worker", help="run queued jobs (transcription, pictures, exports)")
    p.add_argument("--queue", choices=["speech", "pictures", "all"], default="all")
    p.add_argument("--workers", type=int, help="jobs at once per queue (default: 1 / 2)")
    return parser


def _picture_options(p: argparse.ArgumentParser) -> None:
    """Picture settings; each is checked against the model before any work (see ``models``)."""
    group = p.add_argument_group("pictures (python -m s2i_core models lists what each takes)")
    group.add_argument("--image-model", help="a model id; default: the configured one")
    group.add_argument("--aspect", metavar="W:H", help="picture shape, e.g. 1:1 or 16:9")
    group.add_argument("--steps", type=int, metavar="N", help="denoising steps")
    group.add_argument("--cfg", type=float, metavar="X", help="guidance scale")
    group.add_argument("--sampler", metavar="S", help="sampler name (SDXL)")
    group.add_argument("--seed", type=seed, metavar="N", help="0..4294967295; 0 or none: random")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
        )
        return COMMANDS[args.command](args, Settings.load())
    except S2IError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if error.user_error else 1
    except OSError as error:  # the machine, not the input: a full disk, a read-only folder
        print(f"error: {describe_os_error(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; everything finished so far is saved.", file=sys.stderr)
        return 130
    except Exception as error:  # a bug or an environment fault: still no traceback for users
        log.debug("unexpected failure", exc_info=True)
        print(f"error: unexpected failure ({type(error).__name__}): {error}", file=sys.stderr)
        return 1


def describe_os_error(error: OSError) -> str:
    where = f" ({error.filename})" if error.filename else ""
    if error.errno == errno.ENOSPC:
        return (
            f"The disk is full{where}. Free some space and run the command again; everything "
            "finished before is saved, and 'regenerate' finishes the rest."
        )
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            f"This account may not write here{where} ({error.strerror.lower()}). Choose another "
            "place or ask for write access."
        )
    return f"{error.strerror or error}{where}."


# --- commands ----------------------------------------------------------------------------------
def cmd_transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from .story.narration import transcribe_narration

    _require_file(args.audio)
    with _spinner("Transcribing"):
        narration = transcribe_narration(args.audio, settings, language=args.language)
    info = narration.transcription.info
    if args.json:
        _print_json(
            {
                "language": info.language,
                "language_probability": round(info.language_probability, 4),
                "language_uncertain": info.language_uncertain,
                "duration": round(info.duration, 3),
                "engine": info.engine,
                "model": info.model,
                "device": info.device,
                "text": narration.transcription.text,
                "sentences": [_sentence_json(s) for s in narration.sentences],
            }
        )
    else:
        unsure = ", uncertain: choose it with --language" if info.language_uncertain else ""
        print(f"# {info.language} ({info.language_probability:.0%}{unsure}), {info.duration:.1f} s")
        for s in narration.sentences:
            english = f"  [{s.text_en}]" if s.text_en != s.text else ""
            print(f"{s.index:>3}  {s.start:6.2f}-{s.end:6.2f}  {s.text}{english}")
    return 0


def cmd_story(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs.inline import story_here
    from .story.drafts import StoryOptions
    from .story.picture_settings import default_params

    _require_file(args.audio)
    if args.style:
        _check_style(args.style)
    # a value the model does not take is bad input: say so before any work
    params = default_params(settings, _picture_params(args, settings))
    library = _library(settings)
    options = StoryOptions(
        title=args.title,
        class_name=args.class_name,
        style=args.style or StoryOptions.style,
        characters=args.characters,
        image_params=params,
        blocklist=_classroom_words(library),  # the Word list page's, as in the app
    )
    if args.enqueue:
        return _enqueue_story(library, settings, args, options)
    backend = _picture_backend(settings, library)
    story_id = None
    with _progress(None, "Storyboard") as bar:
        for event in story_here(
            library, settings, backend, args.audio, options, None, args.language
        ):
            story_id = event.story_id
            if event.kind == "scenes":
                _report_scene_writer(event.scenes)
            bar(event)
    return _report_story(library, story_id, args.json)


def _report_scene_writer(scenes) -> None:
    """The scene writer's added latency: with no review step, pictures wait for it."""
    print(
        f"Scene writer ({scenes.path}): {scenes.seconds:.1f} s before the first picture.",
        file=sys.stderr,
        flush=True,
    )
    if scenes.notice:
        print(scenes.notice, file=sys.stderr, flush=True)


def cmd_regenerate(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(settings)
    story = library.get_story(args.story_id)
    if not args.enqueue:
        _refuse_if_busy(library, story)
    matches = [f.id for f in story.frames if f.index == args.frame]
    if args.frame is not None and not matches:
        raise UsageError(f"Story {story.id} {_frame_range(story)}; there is no frame {args.frame}.")
    changed = _picture_params(args, settings, story)
    if changed is not None:  # checked and saved before any picture is drawn
        _save_story_params(library, settings, story, changed)
    if args.enqueue:
        frame_ids = matches if args.frame is not None else None
        return _enqueue_finish(library, settings, story, frame_ids)
    if args.frame is None:
        _finish(library, settings, story)
        return _report_story(library, story.id, args.json)
    reseed = not (changed and changed.seed)  # a redone frame is a new picture, unless seeded
    _run_generation(library, settings, story.id, matches, len(matches), reseed=reseed)
    return _report_story(library, story.id, args.json)


def _refuse_if_busy(library, story) -> None:
    """A story another command or a worker is finishing now is left to it: a second run would
    take its hold and find every frame 'drawing' (it ended by marking the story interrupted)."""
    from .jobs import JobBook

    working = [j for j in JobBook(library).of_story(story.id, True) if j.kind != "export"]
    if story.status == "generating" or working:
        raise StoryBusyError(
            f"Story {story.id} is being finished elsewhere (another 'regenerate' or a worker) "
            f"right now. Nothing was changed; see how far it got with 'show {story.id}', and "
            "run 'regenerate' again once it has stopped if anything is still missing."
        )


def _frame_range(story) -> str:
    count = len(story.frames)
    if count == 0:
        return "has no frames yet (run 'regenerate' without --frame to finish it)"
    return "has only frame 0" if count == 1 else f"has frames 0 to {count - 1}"


def _finish(library, settings: Settings, story) -> None:
    """Transcribe again what an interrupted run did not, then draw every missing picture."""
    from .jobs.inline import finish_here

    backend = _picture_backend(settings, library)
    _print_notes(library, story.id, backend)
    total = None if story.sentences_missing else sum(f.status != "done" for f in story.frames)
    with _progress(total, "Pictures") as bar:
        for event in finish_here(library, settings, backend, story.id):
            bar(event)


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from .pictures import catalogue, choose_backend

    choice = choose_backend(settings)
    models = catalogue(settings)
    if args.json:
        _print_json(
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
    from .exports import VideoOptions, export_path, export_pdf, export_video, missing_note
    from .exports.targets import check_targets, write_replacing

    if args.enqueue:
        if args.pdf or args.mp4:
            raise UsageError("--enqueue keeps the export in the data folder: drop --pdf/--mp4.")
        return _enqueue_export(_library(settings), settings, args)
    if not args.pdf and not args.mp4:
        raise UsageError("Say what to write: --pdf PATH, --mp4 PATH, or both.")
    library = _library(settings)
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
        with _progress_fraction("Video") as progress:
            video = export_video(story, library, args.mp4, VideoOptions(args.resolution), progress)
        print(
            f"Wrote {video.path} ({video.duration:.1f} s, {args.resolution}, "
            f"{video.bytes / 1e6:.1f} MB).",
            file=sys.stderr,
        )
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(settings)
    total = library.count_stories(query=args.search)
    stories = library.list_stories(query=args.search, limit=max(total, 1))
    if args.json:
        _print_json([_summary_json(s) for s in stories])
        return 0
    for s in stories:
        print(
            f"{s.id:>5}  {s.created_at:%Y-%m-%d}  {s.language or '--':>3}  "
            f"{s.done_count:>2}/{s.frame_count:<2}  {s.status:<10}  {s.title}"
            + (f"  ({s.class_name})" if s.class_name else "")
        )
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    return _report_story(_library(settings), args.story_id, args.json)


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(settings)
    story = library.get_story(args.story_id)
    library.delete_story(story.id)
    print(f"Deleted story {story.id} ({story.title}).", file=sys.stderr)
    return 0


def cmd_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import cancel

    library = _library(settings)
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
    from .jobs import QUEUES
    from .jobs.worker import WorkerPool

    if args.workers is not None and not 1 <= args.workers <= 64:
        raise UsageError("--workers must be between 1 and 64.")
    queues = QUEUES if args.queue == "all" else (args.queue,)
    if not args.verbose:
        logging.getLogger("s2i_core").setLevel(logging.INFO)
    WorkerPool(settings, queues, args.workers).run()
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "transcribe": cmd_transcribe,
    "story": cmd_story,
    "regenerate": cmd_regenerate,
    "export": cmd_export,
    "list": cmd_list,
    "show": cmd_show,
    "delete": cmd_delete,
    "models": cmd_models,
    "cancel": cmd_cancel,
    "worker": cmd_worker,
}


# --- helpers -----------------------------------------------------------------------------------
def _library(settings: Settings):
    from .storage import Library

    return Library(settings)


def _classroom_words(library) -> tuple[str, ...]:
    from .wordlist import classroom_words

    return classroom_words(library)


def _picture_params(args: argparse.Namespace, settings: Settings, story=None):
    """The picture settings given on the command line, for the given model or else the story's
    (``regenerate``) or the default one. None for a story when no option was given."""
    from .pictures import ImageParams, catalogue
    from .story.picture_settings import story_params

    given = (args.image_model, args.aspect, args.steps, args.cfg, args.sampler, args.seed)
    if story is not None and all(value is None for value in given):
        return None
    models = catalogue(settings)
    model = args.image_model
    if not model and story is not None:
        model = story_params(story)[0].model
    return ImageParams(
        model=model if model and (args.image_model or model in models) else next(iter(models)),
        aspect_ratio=args.aspect,
        steps=args.steps,
        cfg_scale=args.cfg,
        sampler=args.sampler,
        seed=0 if args.seed is None else args.seed,
    )


def _save_story_params(library, settings: Settings, story, changed) -> None:
    """Regenerate's picture options replace the story's own (given ones win, the rest stay);
    raises InvalidRequestError, before anything is drawn, for a value the model does not take."""
    import dataclasses

    from .pictures import ImageParams, catalogue, check_seed, get_model
    from .story.picture_settings import params_record, story_params

    check_seed(changed.seed)
    saved, blocklist = story_params(story)
    if changed.model != saved.model:  # another model's steps, cfg or shape may not fit this one
        saved = ImageParams(changed.model, seed=saved.seed, negative_prompt=saved.negative_prompt)
    given = {k: v for k, v in dataclasses.asdict(changed).items() if v not in (None, 0, "")}
    merged = dataclasses.replace(saved, **given)
    model = get_model(catalogue(settings), merged.model)
    merged = merged.resolved(model)
    library.update_story(
        story.id, image_model=model.id, image_params=params_record(merged, blocklist)
    )


def _picture_backend(settings: Settings, library):
    """The backend; NVIDIA's request rate is counted in the library's database, so
    S2I_IMAGE_RPM holds for every process and replica using that key."""
    from .pictures import choose_backend, load_backend

    rpm, key = settings.image_rpm, settings.nvidia_api_key
    shared = library.request_limiter(key, rpm) if rpm > 0 else None
    backend = load_backend(settings, rate_limiter=shared)
    if backend is None:
        print(f"note: {choose_backend(settings).detail}", file=sys.stderr)
    return backend


def _print_notes(library, story_id: int, backend) -> None:
    from .story.picture_settings import refit_story_params

    if backend is not None:
        for note in refit_story_params(library, story_id, backend.models)[2]:
            print(f"note: {note}", file=sys.stderr)


def _run_generation(library, settings, story_id, frame_ids, total, reseed=False) -> None:
    from .jobs import pictures_job
    from .jobs.inline import run_here

    backend = _picture_backend(settings, library)
    _print_notes(library, story_id, backend)
    job = pictures_job(library.get_story(story_id), frame_ids, reseed)
    with _progress(total, "Pictures") as bar:
        for event in run_here(settings, library, [job], backend):
            bar(event)


def _enqueue_story(library, settings: Settings, args: argparse.Namespace, options) -> int:
    from .jobs import queue_transcription
    from .story.drafts import start_story

    story = start_story(library, settings, args.audio, options, args.language)
    queue_transcription(settings, library, story.id, args.language, then_draw=True)
    print(f"Queued story {story.id}; follow it with 'show {story.id}'.", file=sys.stderr)
    if args.json:
        _print_json({"id": story.id, "status": "queued"})
    else:
        print(story.id)
    return 0


def _enqueue_finish(library, settings: Settings, story, frame_ids: list[int] | None) -> int:
    from .jobs import queue_pictures, queue_transcription

    if frame_ids is None and story.sentences_missing:
        queue_transcription(settings, library, story.id, story.language or None, then_draw=True)
    else:
        queue_pictures(settings, library, story, frame_ids, reseed=frame_ids is not None)
    print(f"Queued story {story.id}; follow it with 'show {story.id}'.", file=sys.stderr)
    print(story.id)
    return 0


def _enqueue_export(library, settings: Settings, args: argparse.Namespace) -> int:
    from .exports.stored import ExportOptions, require_content
    from .jobs import queue_export

    story = library.get_story(args.story_id)
    options = ExportOptions(args.enqueue, args.resolution)
    require_content(story, options)
    queue_export(settings, library, story.id, options)
    print(f"Queued the {options.label} of story {story.id}; follow it with 'show {story.id}'.",
          file=sys.stderr)  # fmt: skip
    print(story.id)
    return 0


def _report_story(library, story_id: int, as_json: bool) -> int:
    from .jobs import progress

    state = progress(library, story_id)
    story = state.story
    if as_json:
        _print_json(
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
    from .jobs import export_options

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


def _sentence_json(s) -> dict[str, Any]:
    return {
        "index": s.index,
        "start": round(s.start, 3),
        "end": round(s.end, 3),
        "text": s.text,
        "text_en": s.text_en,
    }


def _summary_json(s) -> dict[str, Any]:
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


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"There is no audio file at {path}. Check the path and try again.")
    if not os.access(path, os.R_OK):
        raise UsageError(
            f"{path} cannot be read (permission denied). Ask for read access or copy the file "
            "somewhere this account can read."
        )


def story_id(text: str) -> int:
    """A story id from the command line: a whole number the database can hold."""
    return _whole_number(text, 1, "Story ids")


def seed(text: str) -> int:
    """Checked before any work: a seed the picture service refuses would fail every frame."""
    from .pictures import MAX_SEED
    from .storage import parse_id

    value = parse_id(text, 0)
    if value is None or value > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"Seeds are whole numbers from 0 to {MAX_SEED} (0 picks one), not {text[:30]!r}"
        )
    return value


def frame_index(text: str) -> int:
    return _whole_number(text, 0, "Frame numbers")


def _whole_number(text: str, low: int, what: str) -> int:
    from .storage import MAX_ID, parse_id

    value = parse_id(text, low)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"{what} are whole numbers from {low} to {MAX_ID}, not {text[:30]!r}"
        )
    return value


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportPathError(
            f"Cannot write to {path}: its folder cannot be made ({error.strerror or error}). "
            "Choose a folder you can write to."
        ) from error


def _check_style(style: str) -> None:
    from .story.prompts import STYLES

    if style not in STYLES:
        raise UsageError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLES)}.")


@contextmanager
def _spinner(label: str):
    if sys.stderr.isatty():
        print(f"{label}…", file=sys.stderr, flush=True)
    yield


@contextmanager
def _progress_fraction(label: str):
    """A percentage bar on stderr when attached to a terminal, fed fractions from 0 to 1."""
    from tqdm import tqdm

    with tqdm(total=100, desc=label, unit="%", disable=not sys.stderr.isatty()) as bar:
        yield lambda fraction: bar.update(round(fraction * 100) - bar.n)


@contextmanager
def _progress(total: int | None, label: str):
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
