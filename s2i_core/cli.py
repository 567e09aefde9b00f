"""Command line: ``python -m s2i_core transcribe|story|regenerate|export|list|show|delete``.

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
from .errors import ExportPathError, S2IError
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
    p.add_argument("--image-model")
    p.add_argument("--seed", type=seed, default=0, help="0..4294967295; 0: random")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "regenerate", help="finish a story: transcribe what is missing, draw missing pictures"
    )
    p.add_argument("story_id", type=story_id)
    p.add_argument("--frame", type=frame_index, help="only this frame (its index, from 0)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="write a story as a PDF and/or a narrated MP4 video")
    p.add_argument("story_id", type=story_id)
    p.add_argument("--pdf", type=Path, help="write the printable storyboard here")
    p.add_argument("--mp4", type=Path, help="write the narrated video here")
    p.add_argument("--resolution", choices=("720p", "1080p"), default="720p", help="of the video")

    p = sub.add_parser("list", help="list saved stories")
    p.add_argument("--search", default="")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("show", help="show one story")
    p.add_argument("story_id", type=story_id)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("delete", help="delete a story and its files")
    p.add_argument("story_id", type=story_id)
    return parser


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
    from .pipeline import transcribe_narration

    _require_file(args.audio)
    with _spinner("Transcribing"):
        narration = transcribe_narration(args.audio, settings, language=args.language)
    info = narration.transcription.info
    if args.json:
        _print_json(
            {
                "language": info.language,
                "language_probability": round(info.language_probability, 4),
                "duration": round(info.duration, 3),
                "engine": info.engine,
                "model": info.model,
                "device": info.device,
                "text": narration.transcription.text,
                "sentences": [_sentence_json(s) for s in narration.sentences],
            }
        )
    else:
        print(f"# {info.language} ({info.language_probability:.0%}), {info.duration:.1f} s")
        for s in narration.sentences:
            english = f"  [{s.text_en}]" if s.text_en != s.text else ""
            print(f"{s.index:>3}  {s.start:6.2f}-{s.end:6.2f}  {s.text}{english}")
    return 0


def cmd_story(args: argparse.Namespace, settings: Settings) -> int:
    from .nvidia import ImageParams, get_image_model
    from .pipeline import StoryOptions, stream_story

    _require_file(args.audio)
    if args.style:
        _check_style(args.style)
    if args.image_model:
        settings = settings.with_changes(image_model=args.image_model)
    get_image_model(settings.image_model)  # an unknown model is bad input: say so first
    library = _library(settings)
    options = StoryOptions(
        title=args.title,
        class_name=args.class_name,
        style=args.style or StoryOptions.style,
        characters=args.characters,
        image_params=ImageParams(model=settings.image_model, seed=args.seed),
    )
    client = _image_client(settings, library)
    story_id = None
    with _progress(None, "Storyboard") as bar:
        for event in stream_story(
            library, settings, client, args.audio, options, None, args.language
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
    if args.frame is None:
        _finish(library, settings, story)
        return _report_story(library, story.id, args.json)
    matches = [f.id for f in story.frames if f.index == args.frame]
    if not matches:
        raise UsageError(f"Story {story.id} {_frame_range(story)}; there is no frame {args.frame}.")
    _run_generation(library, settings, story.id, matches, len(matches), reseed=True)
    return _report_story(library, story.id, args.json)


def _frame_range(story) -> str:
    count = len(story.frames)
    if count == 0:
        return "has no frames yet (run 'regenerate' without --frame to finish it)"
    return "has only frame 0" if count == 1 else f"has frames 0 to {count - 1}"


def _finish(library, settings: Settings, story) -> None:
    """Transcribe again what an interrupted run did not, then draw every missing picture."""
    from .pipeline import finish_story

    client = _image_client(settings, library)
    total = None if story.sentences_missing else sum(f.status != "done" for f in story.frames)
    with _progress(total, "Pictures") as bar:
        for event in finish_story(library, settings, client, story.id):
            bar(event)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from .exports import VideoOptions, export_pdf, export_video

    if not args.pdf and not args.mp4:
        raise UsageError("Say what to write: --pdf PATH, --mp4 PATH, or both.")
    for path, suffix in ((args.pdf, ".pdf"), (args.mp4, ".mp4")):
        if path is not None and path.is_dir():
            example = path / f"story{suffix}"
            raise UsageError(f"{path} is a folder; give the file to write, such as {example}.")
    library = _library(settings)
    story = library.get_story(args.story_id)
    if args.pdf:
        _make_parent(args.pdf)
        export_pdf(story, library, args.pdf)
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


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "transcribe": cmd_transcribe,
    "story": cmd_story,
    "regenerate": cmd_regenerate,
    "export": cmd_export,
    "list": cmd_list,
    "show": cmd_show,
    "delete": cmd_delete,
}


# --- helpers -----------------------------------------------------------------------------------
def _library(settings: Settings):
    from .storage import Library

    return Library(settings)


def _image_client(settings: Settings, library):
    """The client; its request rate is counted in the library's database, so S2I_IMAGE_RPM
    holds for every process and replica using that key."""
    from .nvidia import NvidiaImageClient

    if settings.has_image_backend:
        rpm, key = settings.image_rpm, settings.nvidia_api_key
        shared = library.request_limiter(key, rpm) if rpm > 0 else None
        return NvidiaImageClient(settings, rate_limiter=shared)
    print(
        "note: NVIDIA_API_KEY is not set, so frames get a 'no picture yet' card; "
        "run 'regenerate' once a key is set.",
        file=sys.stderr,
    )
    return None


def _run_generation(library, settings, story_id, frame_ids, total, reseed=False) -> None:
    from .pipeline import StoryEvent, generate_story

    client = _image_client(settings, library)
    lease_s = settings.work_lease_s
    with _progress(total, "Pictures") as bar:
        for frame in generate_story(library, client, story_id, frame_ids, reseed, lease_s):
            bar(StoryEvent("frame_done", story_id, frame))


def _report_story(library, story_id: int, as_json: bool) -> int:
    story = library.get_story(story_id)
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
    for f in story.frames:
        note = f"  ({f.error})" if f.error and f.status != "done" else ""
        print(f"{f.index:>3}  {f.start:6.2f}-{f.end:6.2f}  {f.status:<10} {f.text}{note}")
        if f.scene and f.scene != f.text:
            print(f"     scene ({f.scene_source}): {f.scene}")
    return 0


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
    from .nvidia import MAX_SEED
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
    from .prompts import STYLES

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
