"""FLUX.1 Kontext [dev] on NVIDIA's image API: a frame drawn from its character's picture.

``black-forest-labs/flux.1-kontext-dev`` edits an input ``image`` (its published schema,
schemas/flux.1-kontext-dev.json, requires one). NVIDIA's hosted preview takes only its predefined
example pictures (``data:image/png;example_id,N``), so a class's drawing can be sent only to a
NIM container of the same model (``S2I_NVIDIA_BASE_URL`` pointing at a school's own server).
The schema takes one image, so several characters in one frame travel as one composed sheet
(``reference.compose_sheet``).
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequestError
from ..models import CfgRange, ImageModel, ImageParams
from ..reference import ReferencePicture, data_url
from ..reference_models import ReferenceModel, reference_instruction

KONTEXT_ID = "black-forest-labs/flux.1-kontext-dev"
HOSTED_GENAI_HOST = "ai.api.nvidia.com"
HOSTED_EXAMPLES_ONLY = (
    "NVIDIA's hosted FLUX.1 Kontext takes only its own example pictures, not a class's "
    "characters, so with the hosted service frames are drawn from words alone. Characters are "
    "drawn from their pictures with a school's own NIM container of the model "
    "(S2I_NVIDIA_BASE_URL) or a local model (S2I_LOCAL_IMAGE_MODEL)."
)


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
