"""Shared fixtures. Speech: the fixture recordings and one Whisper engine for the whole session."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from s2i_core.settings import Settings
from s2i_core.speech import SpeechEngine, load_engine
from s2i_core.speech.calibration import default_layout
from tests.deadline import pytest_addoption, pytest_runtest_setup  # noqa: F401 (--deadline)

FIXTURES = Path(__file__).parent / "fixtures"
# Tests never time the machine: Whisper runs one window per core (S2I_ASR_THREADS, read by every
# process a test starts) instead of the layout measured at first start. The layout changes the
# speed, never the words; tests/test_speech_calibration.py covers the measuring.
UNTIMED_LAYOUT = os.environ.setdefault("S2I_ASR_THREADS", str(default_layout()))


@pytest.fixture(autouse=True)
def no_scene_writer_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real LLM: the scene writer is off unless a test turns it on (pointing
    ``S2I_LLM_BASE_URL`` at tests/llm_stub.py). Settings built directly say ``llm`` themselves."""
    monkeypatch.setenv("S2I_LLM", "off")


@pytest.fixture(autouse=True)
def _stop_workers_started_by_the_test():
    """Pages start a worker inside the process (S2I_APP_WORKER): each test stops its own."""
    yield
    import threading

    from s2i_core.jobs.worker import stop_all

    for thread in threading.enumerate():
        if thread.name == "app-worker":  # still starting a pool (s2i_ui.resources)
            thread.join(timeout=60)
    stop_all()


@pytest.fixture
def pool():
    """Start worker pools in this process (``pool(settings, queues=[...])``): stopped after."""
    from s2i_core.jobs.worker import WorkerPool

    started: list[WorkerPool] = []

    def start(settings: Settings, **options) -> WorkerPool:
        started.append(WorkerPool(settings, **options).start())
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def engine_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Default settings over a session data folder: the bundled base model is assembled once,
    and Whisper's CPU layout is the untimed one."""
    from s2i_core.speech import calibration
    from s2i_core.speech.faster_whisper_engine import CPU_COMPUTE_TYPE

    settings = Settings(data_dir=tmp_path_factory.mktemp("engine-data"))
    untimed = calibration.Layout.parse(UNTIMED_LAYOUT)
    kept = settings.cache_dir / "asr-layout.json"  # where a measured layout would be kept
    for model in ("base", "tiny.en"):
        key = calibration.fingerprint(model, CPU_COMPUTE_TYPE, calibration.usable_cores())
        calibration.cached_layout(kept, key, lambda: (untimed, {}))
    return settings


@pytest.fixture(scope="session")
def speech_engine(engine_settings: Settings) -> SpeechEngine:
    return load_engine(engine_settings)


def encode(
    source: Path, container: str, codec: str, rate: int, layout: str = "mono", **options: str
) -> bytes:
    """Re-encode a fixture WAV with PyAV (mp3, m4a, ogg, webm, flac, ...) into bytes."""
    buffer = io.BytesIO()
    with (
        av.open(str(source)) as src,
        av.open(buffer, "w", format=container, options=options) as dst,
    ):
        stream = dst.add_stream(codec, rate=rate, layout=layout)
        for frame in src.decode(audio=0):
            frame.pts = None
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def encode_audio() -> Callable[..., bytes]:
    return encode


# A real PostgreSQL server for the storage tests (and any test that asks for ``postgres_url``).
from tests.postgres import postgres_url  # noqa: E402, F401

# A real Redis server for the job queue tests (``redis_url``).
from tests.redis_server import redis_server, redis_url  # noqa: E402, F401
