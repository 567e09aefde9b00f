"""Models that draw from a reference picture: how a frame keeps its hero's look.

A backend that has such models lists them in ``reference_models`` (apart from ``models``: they
may not draw from words alone, so they are never offered as a story's picture model) and takes a
``reference=`` picture in ``generate``; its plug-in's ``references`` lists them without loading
anything (``reference_catalogue``). What each accepts is a ``ReferenceModel``; ``models --json``
lists it. NVIDIA's is FLUX.1 Kontext [dev] (nvidia/kontext.py); a local diffusers model draws
from a picture too (local_reference.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import ImageModel
from .reference import ReferencePicture


@dataclass(frozen=True)
class ReferenceModel:
    """A model that draws a new picture of what its reference picture shows."""

    model: ImageModel  # its shapes, steps and guidance, as for any model
    max_references: int = 1  # pictures one request carries; more characters share a sheet
    ready: bool = True  # False: this service cannot take our pictures (``note`` says why)
    note: str = ""  # for people: how it takes references, or why it cannot here

    @property
    def several_characters(self) -> str:
        """How a frame with several characters is sent."""
        if self.max_references > 1:
            return "several reference pictures"
        return "one composed sheet (the characters side by side)"

    def options(self) -> dict[str, Any]:
        """What it accepts, as plain data (``models --json``)."""
        return self.model.options() | {
            "accepts": {
                "text": True,
                "reference_images": self.max_references,
                "reference_types": ["image/png", "image/jpeg"],
                "several_characters": self.several_characters,
                "text_to_image": False,
            },
            "ready": self.ready,
            "note": self.note or self.model.note,
        }


def reference_instruction(prompt: str, reference: ReferencePicture) -> str:
    """Kontext edits its input picture: the prompt says to keep the character(s) and draw the
    frame's scene around them."""
    names = reference.character
    return (
        f"Keep {names} exactly as drawn in this picture (same face, colours and clothes) and "
        f"draw a new picture: {prompt.strip()}"
    )
