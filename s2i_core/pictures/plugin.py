"""What a picture backend plug-in provides, so that nothing outside its own module needs to know
how it draws, which models it offers or which settings it reads.

A plug-in (``nvidia``, ``local``) is one ``Plugin`` value in its module; ``backends.PLUGINS``
lists them, in the order "auto" tries them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..settings import Settings
from .limiter import RequestLimiter
from .models import GeneratedImage, ImageModel, ImageParams

# (API key, requests per minute) -> a request limiter shared by every process on that key (the
# library's database keeps the count: Library.request_limiter)
SharedLimits = Callable[[str, int], RequestLimiter]


class PictureBackend(Protocol):
    name: str  # its plug-in's name: "nvidia", "local"
    label: str  # for people: "NVIDIA (hosted)", "Local GPU (NVIDIA H100)"
    models: dict[str, ImageModel]  # what it can draw, the default first
    concurrency: int  # pictures worth asking for at once

    def generate(self, prompt: str, params: ImageParams) -> GeneratedImage:
        """One picture; raises an ImageAPIError subclass."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BackendChoice:
    """Which backend the settings pick, without loading it (cheap enough for the Home page)."""

    name: str  # a plug-in's name, or "none"
    label: str
    detail: str  # one sentence on where pictures come from, or why there are none
    ready: bool = True  # False: pictures cannot be drawn until a setting is fixed


@dataclass(frozen=True)
class Plugin:
    """One kind of picture backend, as the rest of the app sees it."""

    name: str  # what S2I_IMAGE_BACKEND calls it
    setting: str  # the setting that turns it on under "auto", named when none is set
    configured: Callable[[Settings], bool]  # whether "auto" picks it (the first that is)
    choice: Callable[[Settings], BackendChoice]  # where pictures would come from, and readiness
    catalogue: Callable[[Settings], dict[str, ImageModel]]  # offered, default first; no loading
    entry: Callable[[str], ImageModel | None]  # any model id it knows, retired ones included
    load: Callable[[Settings, SharedLimits | None], PictureBackend]  # raises ImageAPIError
