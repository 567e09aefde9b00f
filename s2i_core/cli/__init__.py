"""Command line: ``python -m s2i_core transcribe|story|regenerate|export|list|show|delete|models|
cancel|worker``.

Exit codes: 0 success, 2 bad input (one ``error:`` line on stderr), 1 any other failure.

The parts: parser.py (the arguments and their checks), stories.py (transcribe, story,
regenerate: the same jobs the workers run, here in this process), manage.py (models, export,
list, show, delete, cancel, worker), output.py (what is printed: text, --json, progress bars).
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Callable, Sequence

from ..errors import MisheardLanguageError, S2IError
from ..settings import Settings
from .manage import cmd_cancel, cmd_delete, cmd_export, cmd_list, cmd_models, cmd_show, cmd_worker
from .parser import build_parser
from .stories import cmd_regenerate, cmd_story, cmd_transcribe

log = logging.getLogger("s2i_core")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
        )
        return COMMANDS[args.command](args, Settings.load())
    except S2IError as error:
        print(f"error: {error}{_how_to_go_on(error)}", file=sys.stderr)
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


def _how_to_go_on(error: S2IError) -> str:
    """What the command line adds to a message written for the app."""
    if isinstance(error, MisheardLanguageError):
        return " Give it with --language (for example --language fr)."
    return ""


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
