"""Pictures: picture backends as plug-ins, behind one interface.

The parts:
  models.py    what a model is (its shapes, steps, guidance, token budget, retirement,
               readiness), what to ask it for (``ImageParams`` and its versioned record), and
               what comes back
  plugin.py    what a backend plug-in provides (``Plugin``, ``PictureBackend``)
  backends.py  the plug-ins in one table; which one the settings pick; loading it once
  nvidia/      NVIDIA's hosted models (catalogue, HTTP transport, poller, client)
  local.py     a diffusers model on this computer's GPU (or CPU), frames batched
  limiter.py   the request-rate limiter interface and the in-process one
  images.py    picture bytes: checks, thumbnails, "no picture yet" cards

Nothing outside this package names a backend or a model family: it asks a model entry.
"""

from .backends import (
    CHOICES,
    PLUGINS,
    backend_key,
    catalogue,
    choose_backend,
    default_model,
    forget_loaded,
    generate_many,
    known_model,
    load_backend,
    no_backend_note,
    prompt_tokens,
)
from .models import (
    CLIP_TOKENS,
    MAX_SEED,
    T5_TOKENS,
    CfgRange,
    GeneratedImage,
    ImageModel,
    ImageParams,
    check_seed,
    fit_params,
    get_model,
    parse_ratio,
)
from .plugin import BackendChoice, PictureBackend, Plugin

__all__ = [
    "CHOICES",
    "CLIP_TOKENS",
    "MAX_SEED",
    "PLUGINS",
    "T5_TOKENS",
    "BackendChoice",
    "CfgRange",
    "GeneratedImage",
    "ImageModel",
    "ImageParams",
    "PictureBackend",
    "Plugin",
    "backend_key",
    "catalogue",
    "check_seed",
    "choose_backend",
    "default_model",
    "fit_params",
    "forget_loaded",
    "generate_many",
    "get_model",
    "known_model",
    "load_backend",
    "no_backend_note",
    "parse_ratio",
    "prompt_tokens",
]
