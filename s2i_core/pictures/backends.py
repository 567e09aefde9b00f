"""The picture backends: which one the settings pick, loading it once per process, and what any
model id is, whoever offers it.

``S2I_IMAGE_BACKEND`` names a plug-in of ``PLUGINS`` or is "auto" (the first plug-in that is set
up) or "none". Each plug-in module says everything about its own backend (see plugin.py).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from ..errors import ImageAPIError, SettingsError
from ..settings import Settings
from . import local, nvidia
from .models import CLIP_TOKENS, GeneratedImage, ImageModel, ImageParams
from .plugin import BackendChoice, PictureBackend, Plugin, SharedLimits

log = logging.getLogger(__name__)
K = TypeVar("K")

PLUGINS: dict[str, Plugin] = {plugin.name: plugin for plugin in (nvidia.PLUGIN, local.PLUGIN)}
CHOICES = ("auto", *PLUGINS, "none")


def no_backend_note() -> str:
    """Why a frame has no picture when no backend is set up, and what to do."""
    settings = " nor ".join(plugin.setting for plugin in PLUGINS.values())
    return (
        f"No picture backend is set up (neither {settings}), so this frame has no picture yet. "
        "Set one up and choose 'Generate missing pictures'."
    )


def choose_backend(settings: Settings) -> BackendChoice:
    """auto: the first plug-in that is set up (NVIDIA when a key is set, else the local model
    when one is named), else none."""
    wanted = (settings.image_backend or "auto").strip().lower()
    if wanted not in CHOICES:
        raise SettingsError(
            f"S2I_IMAGE_BACKEND must be one of {', '.join(CHOICES)}, not {wanted!r}. "
            "Fix it in the environment or in .streamlit/secrets.toml and start the app again."
        )
    if wanted == "auto":
        wanted = next((p.name for p in PLUGINS.values() if p.configured(settings)), "none")
    if wanted in PLUGINS:
        return PLUGINS[wanted].choice(settings)
    names = " nor ".join(plugin.setting for plugin in PLUGINS.values())
    return BackendChoice(
        "none",
        "No picture backend",
        f"Neither {names} is set, so frames get a 'no picture yet' card until one is.",
        ready=False,
    )


_loaded: dict[str, PictureBackend | None] = {}
_load_lock = threading.Lock()


def load_backend(
    settings: Settings, shared_limits: SharedLimits | None = None
) -> PictureBackend | None:
    """The chosen backend, built on first use and shared by every later caller in this process.
    None when no backend is set up (frames then get a 'no picture yet' card). With auto, a
    backend that fails to load leaves no backend rather than stopping the app.
    ``shared_limits`` gives a hosted service's request limiter for its key (the first build's)."""
    key = backend_key(settings)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _build(settings, shared_limits)
        return _loaded[key]


def backend_key(settings: Settings) -> str:
    """What identifies a loaded backend: every setting it is built from (the key only as a hash,
    so the string can be a cache key anywhere)."""
    parts = (
        choose_backend(settings).name,
        hashlib.sha256(settings.nvidia_api_key.encode()).hexdigest(),
        settings.nvidia_base_url,
        settings.nvcf_status_url,
        settings.local_image_model,
        settings.image_concurrency,
        settings.image_rpm,
        settings.image_timeout,
    )
    return "|".join(map(str, parts))


def _build(settings: Settings, shared_limits: SharedLimits | None) -> PictureBackend | None:
    choice = choose_backend(settings)
    if choice.name == "none":
        return None
    try:
        return PLUGINS[choice.name].load(settings, shared_limits)
    except ImageAPIError:
        if (settings.image_backend or "auto").strip().lower() != "auto":
            raise
        log.exception("the %s picture backend did not load", choice.name)
        return None


def forget_loaded() -> None:
    """Close and drop every loaded backend (tests, and settings changed at run time)."""
    with _load_lock:
        for backend in _loaded.values():
            if backend is not None:
                backend.close()
        _loaded.clear()


def catalogue(settings: Settings) -> dict[str, ImageModel]:
    """The models new pictures can be drawn with under these settings, the default first, known
    without loading any model (with no backend set up: the first plug-in's, which its setting
    would bring)."""
    name = choose_backend(settings).name
    plugin = PLUGINS.get(name) or next(iter(PLUGINS.values()))
    return plugin.catalogue(settings)


def known_model(model_id: str) -> ImageModel | None:
    """What any plug-in knows of ``model_id`` (a retired model too); None for one none knows."""
    for plugin in PLUGINS.values():
        entry = plugin.entry(model_id)
        if entry is not None:
            return entry
    return None


def prompt_tokens(model_id: str | None) -> int:
    """Tokens (counted the way CLIP counts them) that the model's text encoder reads."""
    known = known_model(model_id or "")
    return known.prompt_tokens if known is not None else CLIP_TOKENS


def default_model(backend: PictureBackend) -> ImageModel:
    return next(iter(backend.models.values()))


def generate_many(
    backend: PictureBackend, jobs: Iterable[tuple[K, str, ImageParams]]
) -> Iterator[tuple[K, GeneratedImage | ImageAPIError]]:
    """Draw many pictures, ``backend.concurrency`` at once; yields ``(key, picture or error)`` as
    each finishes. One broken frame never stops the others."""
    pool = ThreadPoolExecutor(max(1, backend.concurrency), thread_name_prefix="pictures")
    try:
        futures = {
            pool.submit(backend.generate, prompt, params): key for key, prompt, params in jobs
        }
        for future in as_completed(futures):
            yield futures[future], outcome(future.result)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def outcome(result: Callable[[], GeneratedImage]) -> GeneratedImage | ImageAPIError:
    try:
        return result()
    except ImageAPIError as error:
        return error
    except Exception:  # one broken frame must not stop the others; the log keeps the bug
        log.exception("unexpected failure while drawing a picture")
        return ImageAPIError(
            "Something unexpected went wrong while drawing this picture. Try drawing it again."
        )
