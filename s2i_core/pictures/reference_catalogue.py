"""The models that can draw from a character's picture under these settings, known without
loading any model (``models --json``, the pages)."""

from __future__ import annotations

from ..settings import Settings
from .base import choose_backend
from .local import local_catalogue
from .reference_models import ReferenceModel, nvidia_reference_models

LOCAL_NOTE = (
    "Draws from the character's picture: as an input image where the model's pipeline takes one "
    "(FLUX.1 Kontext), else as image-to-image with the same weights."
)
TEXT_ONLY = {"text": True, "reference_images": 0, "text_to_image": True}  # every story model


def reference_catalogue(settings: Settings) -> dict[str, ReferenceModel]:
    """Like ``catalogue``: with no backend set up, NVIDIA's, which a key would bring."""
    if choose_backend(settings).name == "local":
        return {
            model.id: ReferenceModel(model, max_references=1, note=LOCAL_NOTE)
            for model in local_catalogue(settings).values()
        }
    return nvidia_reference_models(settings.nvidia_base_url)


def reference_ready(settings: Settings) -> ReferenceModel | None:
    """The model frames with a character's picture are drawn with; None when there is none."""
    return next((m for m in reference_catalogue(settings).values() if m.ready), None)
