"""What a picture model is and what to ask it for: the model entries every backend's catalogue is
made of, the parameters of one picture (and their versioned record, as a story keeps them), and
what comes back.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..errors import InvalidRequestError, UnknownModelError

MAX_SEED = 4_294_967_295
CLIP_TOKENS = 75  # CLIP reads 77 tokens, start and end markers included (SD 1.5, SDXL, SD3)
T5_TOKENS = 250  # FLUX reads its prompt with T5 (256 tokens and more); counted the CLIP way
RECORD_VERSION = 1  # of ImageParams.record(): a story's saved picture settings


# --- models ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CfgRange:
    """The guidance scales a model takes: above ``low`` (or from it, when ``low_included``) up to
    and including ``high``."""

    low: float
    high: float
    default: float
    low_included: bool = False
    step: float = 0.5  # what the page's slider moves by

    def accepts(self, value: float) -> bool:
        above = value >= self.low if self.low_included else value > self.low
        return above and value <= self.high

    @property
    def smallest_offered(self) -> float:
        """The lowest value the page offers (a step above an excluded lower bound)."""
        return self.low if self.low_included else self.low + self.step

    def describe(self) -> str:
        lower = f"from {self.low:g}" if self.low_included else f"above {self.low:g}"
        return f"{lower} up to {self.high:g}"


@dataclass(frozen=True)
class ImageModel:
    """What one model accepts, so the page and the CLI offer only values it takes.

    ``shapes`` maps an aspect ratio ("16:9") to the picture size asked for; the first is the
    default. For models that take an aspect ratio instead of a size (SD3) the size is nominal.
    """

    id: str
    label: str
    backend: str  # the registry name of the backend that draws it
    shapes: dict[str, tuple[int, int]]
    steps: tuple[int, int]  # the fewest and most denoising steps, both allowed
    default_steps: int
    cfg: CfgRange | None  # None: the model takes no guidance scale (distilled models)
    samplers: tuple[str, ...] = ()  # empty: the model's own; else the first is the default
    negative_prompt: bool = False  # whether the model takes a negative prompt
    family: str = ""  # the backend's own grouping of request formats
    note: str = ""  # one line for people choosing a model
    # tokens of a prompt (counted the CLIP way) its text encoder reads: prompts are cut to fit
    prompt_tokens: int = CLIP_TOKENS
    retired: bool = False  # no longer offered: a story saved with it is drawn with the default
    ready: bool = True  # False: it cannot draw until a setting is fixed (see BackendChoice)

    @property
    def default_shape(self) -> str:
        return next(iter(self.shapes))

    @property
    def default_sampler(self) -> str | None:
        return self.samplers[0] if self.samplers else None

    def options(self) -> dict[str, Any]:
        """Everything a person can choose, with the defaults, as plain data (``models --json``)."""
        return {
            "id": self.id,
            "label": self.label,
            "backend": self.backend,
            "aspect_ratios": list(self.shapes),
            "sizes": {ratio: f"{w}x{h}" for ratio, (w, h) in self.shapes.items()},
            "steps": {"min": self.steps[0], "max": self.steps[1], "default": self.default_steps},
            "cfg": None
            if self.cfg is None
            else {
                "above" if not self.cfg.low_included else "min": self.cfg.low,
                "max": self.cfg.high,
                "default": self.cfg.default,
            },
            "samplers": list(self.samplers),
            "default_aspect": self.default_shape,
            "default_sampler": self.default_sampler,
            "negative_prompt": self.negative_prompt,
            "seed": {"min": 0, "max": MAX_SEED, "random": 0},
        }


# --- what to ask for ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageParams:
    """What to ask a model for. None means "the model's default"; ``seed`` 0 lets the backend
    choose. A negative prompt is dropped for models that take none."""

    model: str  # an ImageModel id of the backend that draws it
    aspect_ratio: str | None = None  # one of the model's shapes, e.g. "16:9"
    steps: int | None = None  # denoising steps
    cfg_scale: float | None = None  # guidance scale: how closely to follow the prompt
    sampler: str | None = None  # the model's sampler names, e.g. "K_DPM_2_ANCESTRAL"
    seed: int = 0  # 0..4294967295; the same seed and settings redraw the same picture
    negative_prompt: str = ""  # what the picture must not show

    def resolved(self, model: ImageModel) -> ImageParams:
        """Every default filled in for ``model`` and every value checked against it.
        Raises InvalidRequestError naming the allowed values."""
        if self.model != model.id:
            raise ValueError(f"params for {self.model} resolved against {model.id}")
        aspect = self.aspect_ratio or model.default_shape
        if aspect not in model.shapes:
            _invalid(f"The shape {aspect!r} is not one {model.label} draws", model.shapes)
        steps = model.default_steps if self.steps is None else self.steps
        low, high = model.steps
        if not _is_int(steps) or not low <= steps <= high:
            _invalid(
                f"Steps must be a whole number from {low} to {high} for {model.label} "
                f"(got {steps!r})"
            )
        cfg = None
        if model.cfg is not None:
            cfg = model.cfg.default if self.cfg_scale is None else self.cfg_scale
            if not _is_number(cfg) or not model.cfg.accepts(cfg):
                _invalid(
                    f"The guidance scale (cfg) must be {model.cfg.describe()} for {model.label} "
                    f"(got {cfg!r})"
                )
            cfg = float(cfg)
        elif self.cfg_scale not in (None, 0):
            _invalid(f"{model.label} takes no guidance scale (cfg); leave it out")
        sampler = None
        if model.samplers:
            sampler = self.sampler or model.default_sampler
            if sampler not in model.samplers:
                _invalid(f"The sampler {sampler!r} is not one {model.label} offers", model.samplers)
        elif self.sampler:
            _invalid(f"{model.label} has no choice of sampler; leave it out")
        check_seed(self.seed)
        negative = self.negative_prompt.strip() if model.negative_prompt else ""
        return dataclasses.replace(
            self,
            aspect_ratio=aspect,
            steps=steps,
            cfg_scale=cfg,
            sampler=sampler,
            negative_prompt=negative,
        )

    def size(self, model: ImageModel) -> tuple[int, int]:
        return model.shapes[self.aspect_ratio or model.default_shape]

    def record(self) -> dict[str, Any]:
        """These settings as a story keeps them: a versioned record of the values set."""
        values = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, "")}
        return {"version": RECORD_VERSION, **values}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ImageParams:
        """Settings a story kept (``record()``); a value not set is the model's default.
        Records of older versions were brought up to date when the library was opened."""
        version = record.get("version", RECORD_VERSION)
        if version != RECORD_VERSION:
            raise ValueError(f"picture settings of version {version!r}; this app reads version 1")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        return cls(**({"model": ""} | values))  # no model: the backend's default (refit)


def check_seed(seed: Any) -> int:
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        _invalid(f"The seed must be a whole number from 0 to {MAX_SEED} (got {seed!r})")
    return seed


def fit_params(params: ImageParams, model: ImageModel) -> tuple[ImageParams, list[str]]:
    """``params`` made acceptable to ``model``, for settings saved earlier (another model, an older
    catalogue): each value the model does not take becomes the nearest one it does, and each
    change is described in a note for the teacher."""
    notes: list[str] = []
    changes: dict[str, Any] = {"model": model.id}
    aspect = params.aspect_ratio
    if aspect and aspect not in model.shapes:
        changes["aspect_ratio"] = nearest_shape(aspect, model)
        notes.append(f"{model.label} draws {changes['aspect_ratio']} instead of {aspect}")
    low, high = model.steps
    if params.steps is not None and not low <= params.steps <= high:
        changes["steps"] = min(high, max(low, params.steps))
        notes.append(f"{changes['steps']} steps instead of {params.steps}")
    if params.cfg_scale is not None:
        if model.cfg is None:
            changes["cfg_scale"] = None
        elif not model.cfg.accepts(params.cfg_scale):
            changes["cfg_scale"] = model.cfg.default
            notes.append(f"guidance {model.cfg.default:g} instead of {params.cfg_scale:g}")
    if params.sampler and params.sampler not in model.samplers:
        changes["sampler"] = None
        if model.samplers:
            notes.append(f"the {model.default_sampler} sampler instead of {params.sampler}")
    return dataclasses.replace(params, **changes), notes


def nearest_shape(aspect: str, model: ImageModel) -> str:
    wanted = math.log(parse_ratio(aspect) or 1.0)
    return min(model.shapes, key=lambda shape: abs(math.log(parse_ratio(shape) or 1.0) - wanted))


def parse_ratio(text: str) -> float | None:
    match = re.fullmatch(r"\s*(\d+)\s*[:x×]\s*(\d+)\s*", text or "")
    if not match or not int(match[1]) or not int(match[2]):
        return None
    return int(match[1]) / int(match[2])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _invalid(problem: str, allowed: Iterable[str] | None = None) -> NoReturn:
    choices = f" (choose one of {', '.join(allowed)})" if allowed is not None else ""
    raise InvalidRequestError(f"{problem}{choices}. Change the picture settings and try again.")


def get_model(models: Mapping[str, ImageModel], model_id: str | None) -> ImageModel:
    """The model ``model_id`` of a catalogue (its default when empty); names the choices if none."""
    if not model_id:
        return next(iter(models.values()))
    try:
        return models[model_id.strip()]
    except KeyError:
        raise UnknownModelError(
            f"{model_id!r} is not a picture model we can draw with here. "
            f"Choose one of: {', '.join(models)}."
        ) from None


# --- what comes back ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GeneratedImage:
    data: bytes = field(repr=False)  # PNG or JPEG bytes, checked to decode
    format: str  # "PNG" or "JPEG", as decoded
    width: int
    height: int
    seed: int  # the seed actually used (repeat it to get the same picture)
    attempts: int  # generation requests sent, retries included
    elapsed: float  # seconds, queueing and retries included
