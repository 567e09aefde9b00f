"""What every picture backend shares: the models it offers, what to ask for, what comes back.

A backend (NVIDIA's hosted models, a local GPU model) is anything with the ``PictureBackend``
shape. Backends register a factory in ``BACKENDS``; ``choose_backend`` reads
``S2I_IMAGE_BACKEND`` (auto | nvidia | local | none) and ``load_backend`` builds the chosen one once
per process. Nothing outside a backend's own module knows how it talks to its model.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, TypeVar

from ..errors import ImageAPIError, InvalidRequestError, SettingsError, UnknownModelError
from ..i18n import msg
from ..settings import IMAGE_BACKENDS as BACKEND_CHOICES
from ..settings import Settings

MAX_SEED = 4_294_967_295
K = TypeVar("K")


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
            _invalid(
                msg(
                    "The shape {aspect} is not one {label} draws",
                    aspect=f"{aspect!r}",
                    label=model.label,
                ),
                model.shapes,
            )
        steps = model.default_steps if self.steps is None else self.steps
        low, high = model.steps
        if not _is_int(steps) or not low <= steps <= high:
            _invalid(
                msg(
                    "Steps must be a whole number from {low} to {high} for {label} (got {steps})",
                    low=low,
                    high=high,
                    label=model.label,
                    steps=f"{steps!r}",
                )
            )
        cfg = None
        if model.cfg is not None:
            cfg = model.cfg.default if self.cfg_scale is None else self.cfg_scale
            if not _is_number(cfg) or not model.cfg.accepts(cfg):
                _invalid(
                    msg(
                        "The guidance scale (cfg) must be {describe} for {label} (got {cfg})",
                        describe=model.cfg.describe(),
                        label=model.label,
                        cfg=f"{cfg!r}",
                    )
                )
            cfg = float(cfg)
        elif self.cfg_scale not in (None, 0):
            _invalid(msg("{label} takes no guidance scale (cfg); leave it out", label=model.label))
        sampler = None
        if model.samplers:
            sampler = self.sampler or model.default_sampler
            if sampler not in model.samplers:
                _invalid(
                    msg(
                        "The sampler {sampler} is not one {label} offers",
                        sampler=f"{sampler!r}",
                        label=model.label,
                    ),
                    model.samplers,
                )
        elif self.sampler:
            _invalid(msg("{label} has no choice of sampler; leave it out", label=model.label))
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


def check_seed(seed: Any) -> int:
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        _invalid(
            msg(
                "The seed must be a whole number from 0 to {max_seed} (got {seed})",
                max_seed=MAX_SEED,
                seed=f"{seed!r}",
            )
        )
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
    if allowed is None:
        raise InvalidRequestError(
            msg("{problem}. Change the picture settings and try again.", problem=problem)
        )
    raise InvalidRequestError(
        msg(
            "{problem} (choose one of {choices}). Change the picture settings and try again.",
            problem=problem,
            choices=", ".join(allowed),
        )
    )


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


# --- backends ----------------------------------------------------------------------------------
class PictureBackend(Protocol):
    name: str  # its registry name: "nvidia", "local"
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

    name: str  # "nvidia" | "local" | "none"
    label: str
    detail: str  # one sentence on where pictures come from, or why there are none
    ready: bool = True  # False: pictures cannot be drawn until a setting is fixed


def default_model(backend: PictureBackend) -> ImageModel:
    return next(iter(backend.models.values()))


def get_model(models: Mapping[str, ImageModel], model_id: str | None) -> ImageModel:
    """The model ``model_id`` of a catalogue (its default when empty); names the choices if none."""
    if not model_id:
        return next(iter(models.values()))
    try:
        return models[model_id.strip()]
    except KeyError:
        raise UnknownModelError(
            msg(
                "{model_id} is not a picture model we can draw with here. "
                "Choose one of: {choices}.",
                model_id=f"{model_id!r}",
                choices=", ".join(models),
            )
        ) from None


def generate_many(
    backend: PictureBackend, jobs: Iterable[tuple[K, str, ImageParams]]
) -> Iterator[tuple[K, GeneratedImage | ImageAPIError]]:
    """Draw many pictures, ``backend.concurrency`` at once; yields ``(key, picture or error)`` as
    each finishes. One broken frame never stops the others."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

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
    import logging

    try:
        return result()
    except ImageAPIError as error:
        return error
    except Exception:  # one broken frame must not stop the others; the log keeps the bug
        logging.getLogger(__name__).exception("unexpected failure while drawing a picture")
        return ImageAPIError(
            msg("Something unexpected went wrong while drawing this picture. Try drawing it again.")
        )


BACKENDS: dict[str, Callable[[Settings], PictureBackend]] = {}


def register(name: str) -> Callable[[Callable[[Settings], PictureBackend]], Any]:
    def add(factory: Callable[[Settings], PictureBackend]) -> Callable[[Settings], PictureBackend]:
        BACKENDS[name] = factory
        return factory

    return add


def choose_backend(settings: Settings) -> BackendChoice:
    """auto: NVIDIA when a key is set, else the local model when one is named, else none."""
    wanted = (settings.image_backend or "auto").strip().lower()
    if wanted not in BACKEND_CHOICES:
        raise SettingsError(
            msg(
                "S2I_IMAGE_BACKEND must be one of {choices}, not {wanted}. Fix it in the "
                "environment or in .streamlit/secrets.toml and start the app again.",
                choices=", ".join(BACKEND_CHOICES),
                wanted=f"{wanted!r}",
            )
        )
    has_key = bool(settings.nvidia_api_key.strip())
    local_model = settings.local_image_model.strip()
    if wanted == "nvidia" or (wanted == "auto" and has_key):
        detail = (
            msg("Pictures come from NVIDIA's hosted models.")
            if has_key
            else msg(
                "S2I_IMAGE_BACKEND is nvidia but NVIDIA_API_KEY is not set, so pictures will "
                "fail until a key is added."
            )
        )
        return BackendChoice("nvidia", msg("NVIDIA (hosted)"), detail, ready=has_key)
    if wanted == "local" or (wanted == "auto" and local_model):
        detail = (
            msg("Pictures are drawn on this computer with {model}.", model=local_model)
            if local_model
            else msg("S2I_IMAGE_BACKEND is local but S2I_LOCAL_IMAGE_MODEL names no model.")
        )
        return BackendChoice("local", msg("Local model"), detail, ready=bool(local_model))
    return BackendChoice(
        "none",
        msg("No picture backend"),
        msg(
            "Neither NVIDIA_API_KEY nor S2I_LOCAL_IMAGE_MODEL is set, so frames get a "
            "'no picture yet' card until one is."
        ),
        ready=False,
    )


_loaded: dict[str, PictureBackend | None] = {}
_load_lock = threading.Lock()


def load_backend(settings: Settings, rate_limiter: Any = None) -> PictureBackend | None:
    """The chosen backend, built on first use and shared by every later caller in this process.
    None when no backend is set up (frames then get a 'no picture yet' card). With auto, a local
    model that fails to load leaves no backend rather than stopping the app. ``rate_limiter``
    (a ``limiter.RequestLimiter``) counts a hosted service's requests, for the first build."""
    choice = choose_backend(settings)
    key = backend_key(settings)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _build(choice, settings, rate_limiter)
        return _loaded[key]


def backend_key(settings: Settings) -> str:
    """What identifies a loaded backend: every setting it is built from (the key only as a hash,
    so the string can be a cache key anywhere)."""
    import hashlib

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


def _build(choice: BackendChoice, settings: Settings, rate_limiter: Any) -> PictureBackend | None:
    if choice.name == "none":
        return None
    if choice.name not in BACKENDS:  # the module registers itself when imported
        from . import local, nvidia  # noqa: F401
    try:
        if choice.name == "nvidia":
            return BACKENDS["nvidia"](settings, rate_limiter=rate_limiter)
        return BACKENDS[choice.name](settings)
    except ImageAPIError:
        if (settings.image_backend or "auto").strip().lower() == "auto" and choice.name == "local":
            import logging

            logging.getLogger(__name__).exception("the local picture model did not load")
            return None
        raise


def forget_loaded() -> None:
    """Close and drop every loaded backend (tests, and settings changed at run time)."""
    with _load_lock:
        for backend in _loaded.values():
            if backend is not None:
                backend.close()
        _loaded.clear()


def catalogue(settings: Settings) -> dict[str, ImageModel]:
    """The models new pictures can be drawn with under these settings, the default first, known
    without loading any model (with no backend set up: NVIDIA's, which a key would bring)."""
    choice = choose_backend(settings)
    if choice.name == "local":
        from .local import local_catalogue

        return local_catalogue(settings)
    from .nvidia import _catalogue

    return _catalogue(settings.image_model)
