"""NVIDIA's hosted image models: what each takes, and the request body each is sent, faithful to
the published request schemas (shared/docs/nvidia-genai-api.md; the schemas are ``schemas/*.json``
here). Every body is validated against its model's schema before it is sent, so a body the
service would refuse fails here, in a test, and not in a lesson.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from ...errors import InvalidRequestError
from ..models import T5_TOKENS, CfgRange, ImageModel, ImageParams

DEFAULT_MODEL = "stabilityai/stable-diffusion-xl"
SCHEMAS_DIR = Path(__file__).with_name("schemas")


# --- the catalogue -----------------------------------------------------------------------------
def _flux_shapes() -> dict[str, tuple[int, int]]:
    """The common shapes inside FLUX's 768-1344 px sides in steps of 64, square first."""
    return {
        "1:1": (1024, 1024),
        "4:3": (1152, 896),
        "3:4": (896, 1152),
        "3:2": (1216, 832),
        "2:3": (832, 1216),
        "16:9": (1344, 768),
        "9:16": (768, 1344),
    }


def _sd3_shapes() -> dict[str, tuple[int, int]]:
    """SD3 takes an aspect ratio; the sizes are what it draws for each, about a megapixel."""
    return {
        "1:1": (1024, 1024),
        "16:9": (1344, 768),
        "9:16": (768, 1344),
        "5:4": (1152, 896),
        "4:5": (896, 1152),
        "3:2": (1216, 832),
        "2:3": (832, 1216),
    }


GUIDED = CfgRange(low=1.0, high=9.0, default=5.0)  # "> 1 and <= 9", the hosted models' range

NVIDIA_MODELS: dict[str, ImageModel] = {
    model.id: model
    for model in (
        ImageModel(
            id="stabilityai/stable-diffusion-xl",
            label="Stable Diffusion XL",
            backend="nvidia",
            family="sdxl",
            shapes={"1:1": (1024, 1024)},
            steps=(5, 100),
            default_steps=25,
            cfg=GUIDED,
            samplers=("K_DPM_2_ANCESTRAL", "K_EULER_ANCESTRAL", "DDIM", "K_LMS"),
            negative_prompt=True,
            note="Square pictures only.",
        ),
        ImageModel(
            id="stabilityai/stable-diffusion-3-medium",
            label="Stable Diffusion 3 Medium",
            backend="nvidia",
            family="sd3",
            shapes=_sd3_shapes(),
            steps=(5, 100),
            default_steps=50,
            cfg=GUIDED,
            negative_prompt=True,
            note="Seven shapes; good at text in pictures.",
        ),
        ImageModel(
            id="black-forest-labs/flux.1-schnell",
            label="FLUX.1 schnell (fast)",
            backend="nvidia",
            family="flux1",
            prompt_tokens=T5_TOKENS,
            shapes=_flux_shapes(),
            steps=(1, 4),
            default_steps=4,
            cfg=None,
            note="Four steps: the quickest pictures.",
        ),
        ImageModel(
            id="black-forest-labs/flux.1-dev",
            label="FLUX.1 dev",
            backend="nvidia",
            family="flux1",
            prompt_tokens=T5_TOKENS,
            shapes=_flux_shapes(),
            steps=(5, 100),
            default_steps=50,
            cfg=GUIDED,
            note="Detailed pictures; slower.",
        ),
        ImageModel(
            id="black-forest-labs/flux.2-klein-4b",
            label="FLUX.2 klein 4B (fast)",
            backend="nvidia",
            family="flux2",
            prompt_tokens=T5_TOKENS,
            shapes=_flux_shapes(),
            steps=(1, 4),
            default_steps=4,
            cfg=None,
            note="FLUX.2 in four steps.",
        ),
    )
}
MODES = {"sd3": "text-to-image", "flux1": "base", "flux2": "Image Generation"}
# Models NVIDIA no longer hosts (the service answers 404): stories saved with one are redrawn
# with the default model.
RETIRED_MODELS: dict[str, ImageModel] = {
    model.id: model
    for model in (
        ImageModel(
            id="stabilityai/sdxl-turbo",
            label="SDXL Turbo",
            backend="nvidia",
            family="sdxl-turbo",
            shapes={"1:1": (512, 512)},
            steps=(1, 4),
            default_steps=2,
            cfg=None,
            retired=True,
        ),
    )
}


def offered(first: str, ready: bool = True) -> dict[str, ImageModel]:
    """The models on offer, the configured default first (``ready``: whether a key is set)."""
    models = dict(NVIDIA_MODELS)
    if first in models:
        models = {first: models[first]} | models
    return {i: m if ready else dataclasses.replace(m, ready=False) for i, m in models.items()}


def entry(model_id: str) -> ImageModel | None:
    """What NVIDIA's catalogue says of ``model_id``, offered or retired."""
    return NVIDIA_MODELS.get(model_id) or RETIRED_MODELS.get(model_id)


@cache
def request_schema(model_id: str) -> dict[str, Any]:
    """The published JSON Schema of ``model_id``'s request body."""
    path = SCHEMAS_DIR / f"{model_id.split('/', 1)[1]}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validator(model_id: str) -> jsonschema.protocols.Validator:
    schema = request_schema(model_id)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_problems(model_id: str, body: Any) -> list[dict[str, Any]]:
    """What is wrong with ``body`` for ``model_id``, as the service's 422 ``detail`` items
    (``{"loc", "msg", "type"}``); empty when the body fits the schema."""
    errors = sorted(_validator(model_id).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [
        {"loc": ["body", *error.absolute_path], "msg": error.message, "type": error.validator}
        for error in errors
    ]


def build_request_body(model: ImageModel, prompt: str, params: ImageParams) -> dict[str, Any]:
    """The JSON body for ``POST {base}/{model.id}``, checked against the model's schema."""
    prompt = prompt.strip()
    if not prompt:
        raise InvalidRequestError("There is no sentence to draw. Write one and try again.")
    p = params.resolved(model)
    if model.family == "sdxl":
        text_prompts = [{"text": prompt, "weight": 1}]
        if p.negative_prompt:
            text_prompts.append({"text": p.negative_prompt, "weight": -1})
        width, height = p.size(model)
        body: dict[str, Any] = {
            "text_prompts": text_prompts,
            "cfg_scale": _number(p.cfg_scale),
            "sampler": p.sampler,
            "seed": p.seed,
            "steps": p.steps,
            "height": height,
            "width": width,
        }
    elif model.family == "sd3":
        body = {"prompt": prompt}
        if p.negative_prompt:
            body["negative_prompt"] = p.negative_prompt
        body |= {
            "cfg_scale": _number(p.cfg_scale),
            "aspect_ratio": p.aspect_ratio,
            "seed": p.seed,
            "steps": p.steps,
            "mode": MODES["sd3"],
        }
    else:
        width, height = p.size(model)
        body = {"prompt": prompt, "width": width, "height": height, "seed": p.seed}
        body |= {"steps": p.steps, "mode": MODES[model.family]}
        body["cfg_scale"] = 0 if p.cfg_scale is None else _number(p.cfg_scale)
    problems = schema_problems(model.id, body)
    if problems:  # a bug in this module, never the teacher's input: resolved() checked that
        raise InvalidRequestError(
            f"We built a request {model.label} would refuse ({readable_detail(problems)}). "
            "Choose other picture settings, and report this to whoever looks after the app."
        )
    return body


def _number(value: float | None) -> int | float:
    return int(value) if float(value).is_integer() else value


def readable_detail(detail: Any) -> str:
    """A 422's ``detail`` (a list of ``{loc, msg, type}``, or a string) as one short sentence."""
    if isinstance(detail, list):
        parts = []
        for item in detail[:4]:
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            loc = [str(p) for p in item.get("loc") or () if p != "body"]
            where = ".".join(loc)
            message = str(item.get("msg") or item.get("type") or "is not accepted")
            parts.append(f"{where}: {message}" if where else message)
        more = len(detail) - 4
        return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return str(detail or "")
