"""The command line's arguments, and the checks each value gets before any work starts."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import __version__
from ..errors import S2IError


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
    _story_commands(sub)
    _library_commands(sub)
    return parser


def _story_commands(sub: argparse._SubParsersAction) -> None:
    """transcribe, story, regenerate: from a recording to pictures."""
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
    p.add_argument("--language", help="hear it again in this language (before any picture)")
    _picture_options(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--enqueue", action="store_true", help="leave the drawing to the workers")


def _library_commands(sub: argparse._SubParsersAction) -> None:
    """models, export, list, show, delete, cancel, worker: the library and the workers."""
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


def _picture_options(p: argparse.ArgumentParser) -> None:
    """Picture settings; each is checked against the model before any work (see ``models``)."""
    group = p.add_argument_group("pictures (python -m s2i_core models lists what each takes)")
    group.add_argument("--image-model", help="a model id; default: the configured one")
    group.add_argument("--aspect", metavar="W:H", help="picture shape, e.g. 1:1 or 16:9")
    group.add_argument("--steps", type=int, metavar="N", help="denoising steps")
    group.add_argument("--cfg", type=float, metavar="X", help="guidance scale")
    group.add_argument("--sampler", metavar="S", help="sampler name (SDXL)")
    group.add_argument("--seed", type=seed, metavar="N", help="0..4294967295; 0 or none: random")


def story_id(text: str) -> int:
    """A story id from the command line: a whole number the database can hold."""
    return _whole_number(text, 1, "Story ids")


def seed(text: str) -> int:
    """Checked before any work: a seed the picture service refuses would fail every frame."""
    from ..pictures import MAX_SEED
    from ..storage import parse_id

    value = parse_id(text, 0)
    if value is None or value > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"Seeds are whole numbers from 0 to {MAX_SEED} (0 picks one), not {text[:30]!r}"
        )
    return value


def frame_index(text: str) -> int:
    return _whole_number(text, 0, "Frame numbers")


def _whole_number(text: str, low: int, what: str) -> int:
    from ..storage import MAX_ID, parse_id

    value = parse_id(text, low)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"{what} are whole numbers from {low} to {MAX_ID}, not {text[:30]!r}"
        )
    return value
