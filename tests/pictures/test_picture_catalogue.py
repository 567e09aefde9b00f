"""The NVIDIA catalogue against the published request schemas (shared/docs/nvidia-genai-api.md):
every value the page or the CLI can offer is one the model accepts, and nothing else is sent."""

from __future__ import annotations

import itertools

import pytest

from s2i_core.errors import InvalidRequestError
from s2i_core.pictures import ImageParams, fit_params
from s2i_core.pictures.nvidia import (
    NVIDIA_MODELS,
    build_request_body,
    request_schema,
    schema_problems,
)

SDXL = "stabilityai/stable-diffusion-xl"
SD3 = "stabilityai/stable-diffusion-3-medium"
SCHNELL = "black-forest-labs/flux.1-schnell"
DEV = "black-forest-labs/flux.1-dev"
KLEIN = "black-forest-labs/flux.2-klein-4b"


def offered_params(model_id: str):
    """Every combination of the extremes and defaults the page and the CLI offer."""
    model = NVIDIA_MODELS[model_id]
    steps = sorted({*model.steps, model.default_steps})
    cfgs = [None] if model.cfg is None else [model.cfg.smallest_offered, model.cfg.high, None]
    samplers = list(model.samplers) or [None]
    for shape, step, cfg, sampler, seed in itertools.product(
        model.shapes, steps, cfgs, samplers, (0, 4_294_967_295)
    ):
        yield ImageParams(model_id, shape, step, cfg, sampler, seed, negative_prompt="blurry")


@pytest.mark.parametrize("model_id", list(NVIDIA_MODELS))
def test_every_offered_value_builds_a_body_the_published_schema_accepts(model_id):
    model = NVIDIA_MODELS[model_id]
    bodies = [build_request_body(model, "A fox.", params) for params in offered_params(model_id)]
    assert bodies and all(schema_problems(model_id, body) == [] for body in bodies)
    assert request_schema(model_id)["additionalProperties"] is False


def test_the_catalogue_is_the_2026_one():
    assert list(NVIDIA_MODELS) == [SDXL, SD3, SCHNELL, DEV, KLEIN]
    assert "stabilityai/sdxl-turbo" not in NVIDIA_MODELS


def test_offered_shapes_follow_the_published_limits():
    assert list(NVIDIA_MODELS[SDXL].shapes) == ["1:1"]  # 1024 x 1024 only
    assert set(NVIDIA_MODELS[SD3].shapes) == {"1:1", "16:9", "9:16", "5:4", "4:5", "3:2", "2:3"}
    for model_id in (SCHNELL, DEV, KLEIN):
        sides = [side for size in NVIDIA_MODELS[model_id].shapes.values() for side in size]
        assert all(768 <= side <= 1344 and side % 64 == 0 for side in sides)
        assert {"1:1", "16:9", "9:16"} <= set(NVIDIA_MODELS[model_id].shapes)


# Bodies written out from the contract page by hand, independent of the catalogue's code.
REFUSED = [
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "width": 1344, "height": 768}),
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "width": 512, "height": 512}),
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "sampler": "K_EULER"}),
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "sampler": "K_DPMPP_2M"}),
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "cfg_scale": 1}),
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "cfg_scale": 9.5}),
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "steps": 4}),
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "samples": 2}),
    (SDXL, {"text_prompts": [{"text": "no", "weight": -1}]}),  # no positive prompt
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}], "aspect_ratio": "1:1"}),
    (SD3, {"prompt": "A fox.", "aspect_ratio": "21:9"}),
    (SD3, {"prompt": "A fox.", "aspect_ratio": "9:21"}),
    (SD3, {"prompt": "A fox.", "cfg_scale": 0}),
    (SD3, {"prompt": "A fox.", "steps": 101}),
    (SD3, {"prompt": "A fox.", "width": 1024}),
    (SCHNELL, {"prompt": "A fox.", "steps": 5}),
    (SCHNELL, {"prompt": "A fox.", "cfg_scale": 3.5}),
    (SCHNELL, {"prompt": "A fox.", "width": 1000}),
    (SCHNELL, {"prompt": "A fox.", "width": 1408}),
    (DEV, {"prompt": "A fox.", "steps": 4}),
    (DEV, {"prompt": "A fox.", "cfg_scale": 1}),
    (DEV, {"prompt": "A fox.", "mode": "canny"}),  # canny needs an input image
    (KLEIN, {"prompt": "A fox.", "steps": 8}),
    (KLEIN, {"prompt": "A fox.", "mode": "base"}),
    (KLEIN, {"prompt": "A fox.", "seed": -1}),
]
ACCEPTED = [
    (SDXL, {"text_prompts": [{"text": "A fox.", "weight": 1}, {"text": "blur", "weight": -1}],
            "width": 1024, "height": 1024, "cfg_scale": 9, "sampler": "K_LMS", "steps": 100,
            "seed": 4294967295, "samples": 1, "clip_guidance_preset": "NONE",
            "style_preset": "none"}),
    (SD3, {"prompt": "A fox.", "negative_prompt": "", "aspect_ratio": "4:5", "cfg_scale": 1.5,
           "steps": 5, "mode": "text-to-image", "model": "sd3", "output_format": "jpeg",
           "seed": 0}),
    (SCHNELL, {"prompt": "A fox.", "width": 768, "height": 1344, "cfg_scale": 0, "mode": "base",
               "steps": 1, "seed": 7, "samples": 1}),
    (DEV, {"prompt": "A fox.", "width": 1344, "height": 768, "cfg_scale": 9, "mode": "base",
           "steps": 5}),
    (KLEIN, {"prompt": "A fox.", "width": 1024, "height": 1024, "cfg_scale": 0,
             "mode": "Image Generation", "steps": 4}),
]  # fmt: skip


@pytest.mark.parametrize(("model_id", "body"), REFUSED)
def test_schema_refuses_what_the_contract_refuses(model_id, body):
    assert schema_problems(model_id, body)


@pytest.mark.parametrize(("model_id", "body"), ACCEPTED)
def test_schema_accepts_what_the_contract_allows(model_id, body):
    assert schema_problems(model_id, body) == []


def test_saved_settings_another_model_refuses_are_fitted_with_notes():
    old = ImageParams(SDXL, aspect_ratio="16:9", steps=3, cfg_scale=12.0, sampler="K_EULER")
    fitted, notes = fit_params(old, NVIDIA_MODELS[SDXL])
    assert (fitted.aspect_ratio, fitted.steps, fitted.cfg_scale) == ("1:1", 5, 5.0)
    assert fitted.sampler is None  # the model's default
    assert len(notes) == 4 and any("1:1 instead of 16:9" in note for note in notes)
    body = build_request_body(NVIDIA_MODELS[SDXL], "A fox.", fitted)
    assert schema_problems(SDXL, body) == []


def test_an_empty_sentence_is_refused_before_a_body_is_built():
    with pytest.raises(InvalidRequestError, match="no sentence"):
        build_request_body(NVIDIA_MODELS[SDXL], "   ", ImageParams(SDXL))
