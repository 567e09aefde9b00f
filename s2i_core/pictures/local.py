"""A picture model on this computer's GPU (or CPU), through Hugging Face ``diffusers``.

``S2I_LOCAL_IMAGE_MODEL`` names a Hugging Face model id (downloaded on first use, where there is
internet) or a folder written by ``save_pretrained``: SD 1.5, SDXL, SDXL-Turbo and the like. The
model loads once per process: fp16 on CUDA, float32 on the CPU. Pictures asked for at the same
time by several threads (the frames of a storyboard) are drawn together, several per GPU batch.
"""

from __future__ import annotations

import io
import json
import logging
import math
import queue
import random
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ContentFilteredError, ImageAPIError, PictureModelError
from ..settings import Settings
from .models import (
    CLIP_TOKENS,
    MAX_SEED,
    T5_TOKENS,
    CfgRange,
    GeneratedImage,
    ImageModel,
    ImageParams,
    get_model,
)
from .plugin import BackendChoice, PictureBackend, Plugin, SharedLimits

log = logging.getLogger(__name__)

SHAPES = ("1:1", "4:3", "3:4", "16:9", "9:16")
DEFAULT_SIDE = 512  # when the model's own size cannot be read without downloading it
GATHER_S = 0.05  # how long the batcher waits for more pictures to join a batch


# --- what the model offers, known from its config files alone ---------------------------------
def local_catalogue(settings: Settings) -> dict[str, ImageModel]:
    model_id = settings.local_image_model.strip()
    if not model_id:
        return {}
    model = model_entry(model_id)
    return {model.id: model}


def model_entry(model_id: str) -> ImageModel:
    """What a local model offers, read from its config files alone (no download, no loading)."""
    side = native_side(model_id)
    turbo = "turbo" in model_id.lower()
    return ImageModel(
        id=model_id,
        label=f"Local model ({Path(model_id).name or model_id})",
        backend="local",
        family="diffusers",
        shapes=_distinct({ratio: shape_for(side, ratio) for ratio in SHAPES}),
        steps=(1, 150),
        default_steps=2 if turbo else 25,
        # distilled "turbo" models are trained without guidance: 0 is their default
        cfg=CfgRange(low=0.0, high=20.0, default=0.0 if turbo else 7.5, low_included=True),
        negative_prompt=True,
        note=f"Drawn on this computer; about {side} px a side.",
        prompt_tokens=T5_TOKENS if _reads_t5(model_id) else CLIP_TOKENS,
    )


def _reads_t5(model_id: str) -> bool:
    """Whether the pipeline reads its prompt with T5 (FLUX), so a longer prompt is read whole."""
    index = _config(model_id, "") or {}
    return "flux" in str(index.get("_class_name", "")).lower()


def native_side(model_id: str) -> int:
    """The picture side the model was trained for: the UNet's latent size times the VAE's scale,
    read from the config files of a local folder or of the Hugging Face cache (no download)."""
    unet, vae = _config(model_id, "unet"), _config(model_id, "vae")
    if not unet or not vae:
        return DEFAULT_SIDE
    sample = unet.get("sample_size")
    if isinstance(sample, list):
        sample = max(sample)
    scale = 2 ** (len(vae.get("block_out_channels", [0] * 4)) - 1)
    return int(sample * scale) if isinstance(sample, int) else DEFAULT_SIDE


def _config(model_id: str, part: str) -> dict[str, Any] | None:
    """A part's config.json ("" for the pipeline's own model_index.json), from the folder or the
    Hugging Face cache; None when neither has it."""
    name = f"{part}/config.json" if part else "model_index.json"
    folder = Path(model_id).expanduser()
    path: Any = folder / name
    if not folder.is_dir():
        try:
            from huggingface_hub import try_to_load_from_cache

            path = try_to_load_from_cache(model_id, name)
        except Exception:  # not a valid repo id, or no hub library: use the default size
            return None
    if not isinstance(path, str | Path) or not Path(path).is_file():
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _distinct(shapes: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Shapes with sizes of their own (a small model's 4:3 may round to its 1:1)."""
    seen: set[tuple[int, int]] = set()
    return {r: size for r, size in shapes.items() if not (size in seen or seen.add(size))}


def shape_for(side: int, ratio: str) -> tuple[int, int]:
    """A size of about ``side``² pixels with this ratio, both sides multiples of 64."""
    w, h = (int(n) for n in ratio.split(":"))
    area = side * side
    width = max(64, round(math.sqrt(area * w / h) / 64) * 64)
    height = max(64, round(math.sqrt(area * h / w) / 64) * 64)
    return width, height


# --- the backend -------------------------------------------------------------------------------
@dataclass
class _Job:
    prompt: str
    params: ImageParams  # resolved
    future: Future = field(default_factory=Future)

    def batch_key(self) -> tuple[Any, ...]:
        return (self.params.aspect_ratio, self.params.steps, self.params.cfg_scale)


class LocalBackend:
    """Draws pictures with a diffusers pipeline; ``generate`` may be called from many threads and
    calls that arrive together share a batch of up to ``concurrency`` pictures."""

    def __init__(self, settings: Settings, *, gather_s: float = GATHER_S):
        model_id = settings.local_image_model.strip()
        if not model_id:
            raise PictureModelError(
                "S2I_IMAGE_BACKEND is local, but S2I_LOCAL_IMAGE_MODEL names no model. Set it to "
                "a Hugging Face model id or a folder saved with save_pretrained."
            )
        self.name = "local"
        self.models = local_catalogue(settings)
        self.model = self.models[model_id]
        self.concurrency = max(1, settings.image_concurrency)
        self.pipeline, self.device = load_pipeline(model_id)
        self.label = f"Local model on {device_name(self.device)}"
        self._gather_s = gather_s
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batch_sizes: list[int] = []  # pictures per pipeline call, in order (for benchmarks)

    def __repr__(self) -> str:
        return f"LocalBackend(model={self.model.id!r}, device={self.device!r})"

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join(timeout=60)
            self._worker = None

    # --- pictures ------------------------------------------------------------------------------
    def generate(self, prompt: str, params: ImageParams) -> GeneratedImage:
        """One picture, drawn in a batch with whatever other pictures are waiting."""
        job = _Job(_check_prompt(prompt), self._resolve(params))
        self._ensure_worker()
        self._jobs.put(job)
        return job.future.result()

    def generate_batch(self, jobs: list[tuple[str, ImageParams]]) -> list[GeneratedImage]:
        """Draw these pictures in one pipeline call (same shape, steps and guidance), in order."""
        resolved = [_Job(_check_prompt(prompt), self._resolve(p)) for prompt, p in jobs]
        if len({job.batch_key() for job in resolved}) > 1:
            raise ValueError("One batch needs one shape, one number of steps and one guidance.")
        return self._draw(resolved)

    def _resolve(self, params: ImageParams) -> ImageParams:
        model = get_model(self.models, params.model)
        resolved = params.resolved(model)
        if not resolved.seed:
            resolved = _with_seed(resolved, random.randint(1, MAX_SEED))
        return resolved

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, name="local-pictures")
                self._worker.daemon = True
                self._worker.start()

    def _serve(self) -> None:
        while (first := self._jobs.get()) is not None:
            waiting = [first]
            until = time.monotonic() + self._gather_s
            stop = False
            while len(waiting) < self.concurrency:
                try:
                    job = self._jobs.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                waiting.append(job)
            for batch in _batches(waiting, self.concurrency):
                self._finish(batch)
            if stop:
                return

    def _finish(self, batch: list[_Job]) -> None:
        try:
            results: list[Any] = self._draw(batch)
        except ImageAPIError as error:
            results = [error] * len(batch)
        except Exception as error:  # a bug or a driver fault: every waiting frame hears of it
            log.exception("the local picture model failed")
            results = [PictureModelError(f"The local picture model failed ({error}). Try again.")]
            results *= len(batch)
        for job, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    def _draw(self, batch: list[_Job]) -> list[Any]:
        """Pictures (or ContentFilteredError) for one batch; splits it when the GPU runs out of
        memory."""
        import torch

        started = time.monotonic()
        params = batch[0].params
        width, height = params.size(self.model)
        generators = [
            torch.Generator(device=self.device).manual_seed(job.params.seed) for job in batch
        ]
        negatives = [job.params.negative_prompt for job in batch]
        self.batch_sizes.append(len(batch))
        try:
            with torch.inference_mode():
                output = self.pipeline(
                    prompt=[job.prompt for job in batch],
                    negative_prompt=negatives if any(negatives) else None,
                    width=width,
                    height=height,
                    num_inference_steps=params.steps,
                    guidance_scale=params.cfg_scale,
                    generator=generators,
                    output_type="pil",
                )
        except torch.OutOfMemoryError:
            if self.device == "cuda":
                torch.cuda.empty_cache()
            if len(batch) > 1:
                half = len(batch) // 2
                return self._draw(batch[:half]) + self._draw(batch[half:])
            raise PictureModelError(
                f"The GPU ran out of memory drawing one {width}x{height} picture. Choose a "
                "smaller shape or a smaller model (S2I_LOCAL_IMAGE_MODEL)."
            ) from None
        elapsed = time.monotonic() - started
        flagged = getattr(output, "nsfw_content_detected", None) or [False] * len(batch)
        results: list[Any] = []
        for job, image, is_flagged in zip(batch, output.images, flagged, strict=True):
            if is_flagged:
                results.append(_filtered())
                continue
            data = _png(image)
            seed = job.params.seed
            results.append(GeneratedImage(data, "PNG", image.width, image.height, seed, 1, elapsed))
        return results


def _batches(jobs: list[_Job], size: int) -> list[list[_Job]]:
    groups: dict[tuple[Any, ...], list[_Job]] = {}
    for job in jobs:
        groups.setdefault(job.batch_key(), []).append(job)
    return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]


def _filtered() -> ContentFilteredError:
    return ContentFilteredError(
        "The local model's safety checker blocked the picture for this sentence. Reword the "
        "sentence or leave this frame without a picture."
    )


def _check_prompt(prompt: str) -> str:
    from ..errors import InvalidRequestError

    if not prompt.strip():
        raise InvalidRequestError("There is no sentence to draw. Write one and try again.")
    return prompt.strip()


def _with_seed(params: ImageParams, seed: int) -> ImageParams:
    import dataclasses

    return dataclasses.replace(params, seed=seed)


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- loading -----------------------------------------------------------------------------------
def load_pipeline(model_id: str) -> tuple[Any, str]:
    """The diffusers text-to-image pipeline and its device: fp16 on CUDA, float32 on the CPU."""
    try:
        import torch
        from diffusers import AutoPipelineForText2Image
    except ImportError as error:
        raise PictureModelError(
            f"The local picture model needs the diffusers and transformers packages ({error}). "
            "Install requirements.txt again."
        ) from error
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    started = time.monotonic()
    try:
        pipeline = AutoPipelineForText2Image.from_pretrained(model_id, dtype=dtype)
    except (OSError, ValueError) as error:
        raise PictureModelError(
            f"The local picture model {model_id!r} could not be loaded ({_short(error)}). "
            "S2I_LOCAL_IMAGE_MODEL must be a folder saved with save_pretrained, or a Hugging Face "
            "model id on a computer that can download it."
        ) from error
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    log.info("loaded %s on %s in %.1f s", model_id, device, time.monotonic() - started)
    return pipeline, device


def device_name(device: str) -> str:
    if device != "cuda":
        return "the CPU"
    import torch

    return torch.cuda.get_device_name(0)


def _short(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


# --- the plug-in -------------------------------------------------------------------------------
def _configured(settings: Settings) -> bool:
    return bool(settings.local_image_model.strip())


def _choice(settings: Settings) -> BackendChoice:
    model = settings.local_image_model.strip()
    detail = (
        f"Pictures are drawn on this computer with {model}."
        if model
        else "S2I_IMAGE_BACKEND is local but S2I_LOCAL_IMAGE_MODEL names no model."
    )
    return BackendChoice("local", "Local model", detail, ready=bool(model))


def _entry(model_id: str) -> ImageModel | None:
    """A model id that is a saved folder, or in the Hugging Face cache, is a local model."""
    known = Path(model_id).expanduser().is_dir() or _config(model_id, "") is not None
    return model_entry(model_id) if model_id and known else None


def _load(settings: Settings, _shared_limits: SharedLimits | None) -> PictureBackend:
    return LocalBackend(settings)


PLUGIN = Plugin(
    name="local",
    setting="S2I_LOCAL_IMAGE_MODEL",
    configured=_configured,
    choice=_choice,
    catalogue=local_catalogue,
    entry=_entry,
    load=_load,
)
