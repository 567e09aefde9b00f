"""Models that draw from a reference picture: how a frame keeps its hero's look.

A backend that has such models lists them in ``reference_models`` (apart from ``models``: they
cannot draw from words alone, so they are never offered as a story's picture model) and takes a
``reference=`` picture in ``generate``. What each accepts is a ``ReferenceModel``; ``models
--json`` lists it.

NVIDIA hosts FLUX.1 Kontext [dev] (``black-forest-labs/flux.1-kontext-dev``) with one input
``image``; its hosted preview takes only NVIDIA's predefined example pictures
(``data:image/png;example_id,N``), so an uploaded or drawn character can be sent only to a NIM
container of the same model (``S2I_NVIDIA_BASE_URL`` pointing at a school's own server). Its
schema takes one image, so several characters in one frame travel as one composed sheet
(``reference.compose_sheet``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequestError
from .base import CfgRange, ImageModel, ImageParams
from .reference import ReferencePicture, data_url

KONTEXT_ID = "black-forest-labs/flux.1-kontext-dev"
HOSTED_GENAI_HOST = "ai.api.nvidia.com"
HOSTED_EXAMPLES_ONLY = (
    "NVIDIA's hosted FLUX.1 Kontext takes only its own example pictures, not a class's "
    "characters, so with the hosted service frames are drawn from words alone. Characters are "
    "drawn from their pictures with a school's own NIM container of the model "
    "(S2I_NVIDIA_BASE_URL) or a local model (S2I_LOCAL_IMAGE_MODEL)."
)


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


def _kontext_shapes() -> dict[str, tuple[int, int]]:
    """Kontext's aspect ratios (its schema's enum) and about what it draws for each."""
    return {
        "1:1": (1024, 1024),
        "4:3": (1184, 880),
        "3:4": (880, 1184),
        "3:2": (1248, 832),
        "2:3": (832, 1248),
        "16:9": (1392, 752),
        "9:16": (752, 1392),
        "21:9": (1568, 672),
        "9:21": (672, 1568),
    }


KONTEXT = ImageModel(
    id=KONTEXT_ID,
    label="FLUX.1 Kontext dev (draws from a picture)",
    backend="nvidia",
    family="kontext",
    shapes=_kontext_shapes(),
    steps=(10, 50),
    default_steps=30,
    cfg=CfgRange(low=1.0, high=9.0, default=3.5),
    note="Draws a new scene with the character of a reference picture.",
)


def is_hosted(base_url: str) -> bool:
    return HOSTED_GENAI_HOST in base_url


def nvidia_reference_models(base_url: str) -> dict[str, ReferenceModel]:
    """NVIDIA's reference models as seen from ``base_url``: not ready on the hosted preview."""
    hosted = is_hosted(base_url)
    entry = ReferenceModel(
        KONTEXT,
        max_references=1,
        ready=not hosted,
        note=HOSTED_EXAMPLES_ONLY if hosted else "One input picture; several characters share one.",
    )
    return {KONTEXT_ID: entry}


def reference_instruction(prompt: str, reference: ReferencePicture) -> str:
    """Kontext edits its input picture: the prompt says to keep the character(s) and draw the
    frame's scene around them."""
    names = reference.character
    return (
        f"Keep {names} exactly as drawn in this picture (same face, colours and clothes) and "
        f"draw a new picture: {prompt.strip()}"
    )


def reference_body(
    model: ImageModel, prompt: str, params: ImageParams, reference: ReferencePicture
) -> dict[str, Any]:
    """The JSON body for a Kontext request (the client checks it against the published schema
    before it is sent)."""
    prompt = prompt.strip()
    if not prompt:
        raise InvalidRequestError("There is no sentence to draw. Write one and try again.")
    p = params.resolved(model)
    body: dict[str, Any] = {
        "prompt": reference_instruction(prompt, reference),
        "image": data_url(reference),
        "aspect_ratio": p.aspect_ratio,
        "steps": p.steps,
        "cfg_scale": int(p.cfg_scale) if float(p.cfg_scale).is_integer() else p.cfg_scale,
        "seed": p.seed,
    }
    return body
