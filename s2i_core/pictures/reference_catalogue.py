"""The models that can draw from a character's picture under these settings, known without
loading any model (``models --json``, the pages): the chosen plug-in's ``references``."""

from __future__ import annotations

from ..settings import Settings
from .backends import PLUGINS, choose_backend
from .reference_models import ReferenceModel

TEXT_ONLY = {"text": True, "reference_images": 0, "text_to_image": True}  # every story model


def reference_catalogue(settings: Settings) -> dict[str, ReferenceModel]:
    """Like ``catalogue``: with no backend set up, the first plug-in's, which its setting would
    bring."""
    plugin = PLUGINS.get(choose_backend(settings).name) or next(iter(PLUGINS.values()))
    return plugin.references(settings)


def reference_ready(settings: Settings) -> ReferenceModel | None:
    """The model frames with a character's picture are drawn with; None when there is none."""
    return next((m for m in reference_catalogue(settings).values() if m.ready), None)
