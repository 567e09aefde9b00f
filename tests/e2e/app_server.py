"""The app as the browser tests start it: `streamlit run s2i_ui/server.py` on a free loopback port,
with only the settings the test gives (none of this shell's S2I_ variables)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from s2i_core.settings import ENV_NAMES
from tests.nvidia_stub import NvidiaStub
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return answer.status == 200

    wait_for(healthy, "streamlit to become healthy", timeout, every=0.3, ignoring=(OSError,))


def app_env(settings: Mapping[str, str]) -> dict[str, str]:
    """This shell's environment without any of the app's settings, the scene writer off (nothing
    leaves this machine), then ``settings``."""
    clean = {k: v for k, v in os.environ.items() if k not in ENV_NAMES.values()}
    return clean | {"S2I_LLM": "off"} | dict(settings)


def stand_in(stub: NvidiaStub) -> dict[str, str]:
    """The settings that send pictures to the NVIDIA stand-in."""
    return {
        "NVIDIA_API_KEY": stub.key,
        "S2I_NVIDIA_BASE_URL": stub.base_url,
        "S2I_NVCF_STATUS_URL": stub.status_url,
    }


def start_app(env: Mapping[str, str], log, port: int, *extra: str) -> subprocess.Popen:
    """`streamlit run` of the app with ``extra`` options, its output into ``log``."""
    command = [sys.executable, "-m", "streamlit", "run", "s2i_ui/server.py"]
    command += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    command += ["--server.headless", "true", "--server.fileWatcherType", "none"]
    command += ["--browser.gatherUsageStats", "false", *extra]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=app_env(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextmanager
def app_server(
    env: Mapping[str, str], log_path: Path, *extra: str, port: int | None = None
) -> Iterator[str]:
    """The app (with ``extra`` options for `streamlit run`) on 127.0.0.1, a free port unless
    given, until the block ends; its address."""
    port = port or free_port()
    with open(log_path, "wb") as log:
        process = start_app(env, log, port, *extra)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process)
            yield url
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
