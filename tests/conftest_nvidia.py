"""Helpers for tests that draw pictures through the local NVIDIA stand-in (tests/nvidia_stub.py).

Import them explicitly: ``from tests.conftest_nvidia import stub_client, stub_settings``.
"""

from __future__ import annotations

from typing import Any

from s2i_core.pictures.nvidia import NvidiaBackend
from s2i_core.settings import Settings
from tests.nvidia_stub import NvidiaStub

# Short pauses so that retries and polls cost milliseconds in tests.
FAST_CLIENT = {"backoff_initial": 0.05, "backoff_max": 0.2, "poll_interval": 0.05}


def stub_settings(stub: NvidiaStub, **overrides: Any) -> Settings:
    """Settings pointing at ``stub`` (built directly, so a real NVIDIA_API_KEY in the
    environment can never leak into a test)."""
    values: dict[str, Any] = {
        "nvidia_api_key": stub.key,
        "nvidia_base_url": stub.base_url,
        "nvcf_status_url": stub.status_url,
        # a deadlock guard, never a measurement: a loaded machine must not run a picture out of
        # time (tests of the budget itself set their own, or use tests/fake_clock.py)
        "image_timeout": 60.0,
        "image_concurrency": 4,
        "image_rpm": 1000,
        "llm": "off",  # the scene writer: tests that want it use tests/llm_stub.py
    }
    return Settings(**(values | overrides))


def stub_client(
    stub: NvidiaStub, client_options: dict[str, Any] | None = None, **settings: Any
) -> NvidiaBackend:
    return NvidiaBackend(stub_settings(stub, **settings), **(FAST_CLIENT | (client_options or {})))
