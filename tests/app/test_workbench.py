"""The NVIDIA AI Workbench project file: it says what Workbench needs, and its app's own start and
health-check commands bring the app up behind a proxy path.

The commands run as written, with the two things a Workbench container provides: the repository
at /project (here: this checkout) and the project's Python first on PATH. The port is a free one
instead of 8501, so the test never collides with a running app.
"""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from s2i_core.settings import ENV_NAMES
from tests.postgres import free_port
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / ".project" / "spec.yaml"
PREFIX = "/projects/speech-to-image-storyboards/applications/storyboards"


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def app(spec: dict) -> dict:
    (storyboards,) = [a for a in spec["execution"]["apps"] if a["name"] == "storyboards"]
    return storyboards


def test_the_spec_declares_what_workbench_needs(spec: dict):
    assert spec["specVersion"] == "v2"
    base = spec["environment"]["base"]
    assert base["registry"] == "nvcr.io"
    assert base["image"].startswith("nvidia/ai-workbench/python-basic:")
    managers = {m["name"]: m["installed_packages"] for m in base["package_managers"]}
    assert "libfribidi0" in managers["apt"]  # shaped captions in the video export
    pinned = {line.split("==")[0] for line in managers["pip"]}
    assert {"streamlit", "openai-whisper", "torch", "pillow", "sqlalchemy"} <= pinned
    assert set(managers["pip"]) <= set(_requirements())  # the same pins as requirements.txt
    assert {"curl", "libfribidi0"} <= set((ROOT / "apt.txt").read_text().split())

    storyboards = app(spec)
    assert (storyboards["type"], storyboards["class"]) == ("custom", "webapp")
    options = storyboards["webapp_options"]
    assert options["port"] == "8501" and options["url"] == "http://localhost:8501/"
    assert options["proxy"]["trim_prefix"] is False  # Streamlit itself serves under the prefix
    assert '--server.baseUrlPath "$PROXY_PREFIX"' in storyboards["start_command"]

    secrets = {s["variable"] for s in spec["execution"]["secrets"]}
    assert secrets == {"NVIDIA_API_KEY"}
    assert "nvapi" not in SPEC.read_text().replace("nvapi-...", "")  # declared, never a value

    layout = {entry["path"]: entry["storage"] for entry in spec["layout"]}
    assert layout["data/"] == "gitignore"
    stories = ["data/s2i.db", "data/media/1/narration.webm", "data/lan/lan-key.pem"]
    ignored = subprocess.run(["git", "check-ignore", *stories], cwd=ROOT, capture_output=True)
    assert ignored.stdout.decode().split() == stories  # git agrees: stories are never committed


def test_the_start_command_serves_the_app_under_the_proxy_prefix(spec: dict, tmp_path: Path):
    port = str(free_port())
    storyboards = app(spec)
    start = _localised(storyboards["start_command"], port)
    health = _localised(storyboards["health_check_command"], port)
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES.values()}
    env |= {
        "PROXY_PREFIX": PREFIX,
        "S2I_DATA_DIR": str(tmp_path),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    }
    server = subprocess.Popen(
        ["bash", "-c", start],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def healthy() -> bool:
            return subprocess.run(["bash", "-c", health], env=env).returncode == 0

        wait_for(healthy, "the app to answer on its port", timeout=180, every=0.5)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}{PREFIX}/_stcore/health", timeout=10) as answer:
            assert answer.read() == b"ok"
        with urllib.request.urlopen(f"{base}{PREFIX}/", timeout=10) as answer:
            assert answer.status == 200 and b"<noscript>" in answer.read()
        with pytest.raises(urllib.error.HTTPError):  # nothing outside the prefix
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=10)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _localised(command: str, port: str) -> str:
    assert command.count("8501") == 1 or "localhost:8501" in command
    return command.replace("cd /project ", f"cd {ROOT} ").replace("8501", port)


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if "==" in line]
