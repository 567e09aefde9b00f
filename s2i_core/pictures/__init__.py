"""Pictures: one interface for every picture backend (``base``), NVIDIA's hosted models
(``nvidia``), a local diffusers model (``local``), and picture bytes (``images``)."""

from .base import (
    BACKENDS,
    MAX_SEED,
    BackendChoice,
    CfgRange,
    GeneratedImage,
    ImageModel,
    ImageParams,
    PictureBackend,
    catalogue,
    check_seed,
    choose_backend,
    default_model,
    fit_params,
    forget_loaded,
    generate_many,
    get_model,
    load_backend,
    parse_ratio,
)

__all__ = [
    "BACKENDS",
    "MAX_SEED",
    "BackendChoice",
    "CfgRange",
    "GeneratedImage",
    "ImageModel",
    "ImageParams",
    "PictureBackend",
    "catalogue",
    "check_seed",
    "choose_backend",
    "default_model",
    "fit_params",
    "forget_loaded",
    "generate_many",
    "get_model",
    "load_backend",
    "parse_ratio",
]
