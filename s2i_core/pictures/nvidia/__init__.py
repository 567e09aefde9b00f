"""NVIDIA's hosted image models as a picture plug-in.

The parts:
  catalogue.py  the models, what each takes, and the request body each is sent (schema-checked)
  transport.py  how a request reaches the service: over ``requests``, or a MockTransport in tests
  poller.py     collecting a picture the service queued (202, then its status endpoint)
  client.py     ``NvidiaBackend``: retries, the rate limit, and errors a teacher can act on
"""

from __future__ import annotations

from ...settings import Settings
from ..models import ImageModel
from ..plugin import BackendChoice, PictureBackend, Plugin, SharedLimits
from .catalogue import (
    DEFAULT_MODEL,
    NVIDIA_MODELS,
    RETIRED_MODELS,
    SCHEMAS_DIR,
    build_request_body,
    entry,
    offered,
    readable_detail,
    request_schema,
    schema_problems,
)
from .client import NvidiaBackend
from .transport import (
    MockTransport,
    Request,
    Response,
    TransportError,
    TransportTimeout,
    Unreachable,
)


def _has_key(settings: Settings) -> bool:
    return bool(settings.nvidia_api_key.strip())


def _choice(settings: Settings) -> BackendChoice:
    detail = (
        "Pictures come from NVIDIA's hosted models."
        if _has_key(settings)
        else "S2I_IMAGE_BACKEND is nvidia but NVIDIA_API_KEY is not set, so pictures will "
        "fail until a key is added."
    )
    return BackendChoice("nvidia", "NVIDIA (hosted)", detail, ready=_has_key(settings))


def _catalogue(settings: Settings) -> dict[str, ImageModel]:
    return offered(settings.image_model, ready=_has_key(settings))


def _load(settings: Settings, shared_limits: SharedLimits | None) -> PictureBackend:
    """The client; S2I_IMAGE_RPM counted per key across processes when ``shared_limits``."""
    key, rpm = settings.nvidia_api_key, settings.image_rpm
    limiter = shared_limits(key, rpm) if shared_limits and rpm > 0 and key else None
    return NvidiaBackend(settings, rate_limiter=limiter)


PLUGIN = Plugin(
    name="nvidia",
    setting="NVIDIA_API_KEY",
    configured=_has_key,
    choice=_choice,
    catalogue=_catalogue,
    entry=entry,
    load=_load,
)

__all__ = [
    "DEFAULT_MODEL",
    "NVIDIA_MODELS",
    "PLUGIN",
    "RETIRED_MODELS",
    "SCHEMAS_DIR",
    "MockTransport",
    "NvidiaBackend",
    "Request",
    "Response",
    "TransportError",
    "TransportTimeout",
    "Unreachable",
    "build_request_body",
    "readable_detail",
    "request_schema",
    "schema_problems",
]
