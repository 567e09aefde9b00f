"""All configuration in one place: environment variables, then Streamlit secrets, then defaults."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import SettingsError

ENV_NAMES = {
    "data_dir": "S2I_DATA_DIR",
    "database_url": "S2I_DATABASE_URL",
    "nvidia_api_key": "NVIDIA_API_KEY",
    "nvidia_base_url": "S2I_NVIDIA_BASE_URL",
    "nvcf_status_url": "S2I_NVCF_STATUS_URL",
    "image_backend": "S2I_IMAGE_BACKEND",
    "image_model": "S2I_IMAGE_MODEL",
    "local_image_model": "S2I_LOCAL_IMAGE_MODEL",
    "whisper_model": "S2I_WHISPER_MODEL",
    "asr_engine": "S2I_ASR_ENGINE",
    "asr_device": "S2I_ASR_DEVICE",
    "asr_beam_size": "S2I_ASR_BEAM_SIZE",
    "asr_threads": "S2I_ASR_THREADS",
    "image_concurrency": "S2I_IMAGE_CONCURRENCY",
    "image_rpm": "S2I_IMAGE_RPM",
    "image_timeout": "S2I_IMAGE_TIMEOUT",
    "max_audio_seconds": "S2I_MAX_AUDIO_SECONDS",
    "max_audio_mb": "S2I_MAX_AUDIO_MB",
    "max_frames": "S2I_MAX_FRAMES",
    "teacher_passcode": "S2I_TEACHER_PASSCODE",
    "public_url": "S2I_PUBLIC_URL",
    "work_lease_s": "S2I_WORK_LEASE_SECONDS",
    "llm": "S2I_LLM",
    "llm_base_url": "S2I_LLM_BASE_URL",
    "llm_model": "S2I_LLM_MODEL",
    "llm_timeout": "S2I_LLM_TIMEOUT",
    "queue_url": "S2I_QUEUE_URL",
    "app_worker": "S2I_APP_WORKER",
    "teacher_hours": "S2I_TEACHER_HOURS",
    "teachers": "S2I_TEACHERS",
    "admins": "S2I_ADMINS",
    "passcode_with_signin": "S2I_PASSCODE_WITH_SIGNIN",
    "pictures_per_teacher_day": "S2I_PICTURES_PER_TEACHER_DAY",
}
LLM_MODES = ("auto", "off")
# S2I_IMAGE_BACKEND's words: the picture plug-ins' names (s2i_core.pictures.PLUGINS), "auto"
# and "none"; tests/test_settings.py checks that the two lists agree
IMAGE_BACKENDS = ("auto", "nvidia", "local", "none")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite at <data_dir>/s2i.db
    nvidia_api_key: str = field(default="", repr=False)
    nvidia_base_url: str = "https://ai.api.nvidia.com/v1/genai"
    nvcf_status_url: str = "https://api.nvcf.nvidia.com/v2/nvcf/pexec/status"
    image_backend: str = "auto"  # auto | nvidia | local | none (see s2i_core.pictures)
    image_model: str = "stabilityai/stable-diffusion-xl"  # NVIDIA's model for new stories
    local_image_model: str = ""  # a Hugging Face id or a save_pretrained folder (diffusers)
    whisper_model: str = "base"  # bundled multilingual base; "tiny.en", a folder, or a model name
    asr_engine: str = "auto"  # auto | faster-whisper | openai-whisper | torch-batched
    asr_device: str = "auto"  # auto | cpu | cuda
    asr_beam_size: int = 5  # beam search where greedy decoding is unsure; 1: greedy only
    # CPU layout of faster-whisper, windows decoded at once x threads each ("2x1"); auto: measured
    # once on this machine, kept in <data_dir>/cache/asr-layout.json
    asr_threads: str = "auto"
    image_concurrency: int = 4
    image_rpm: int = 40
    image_timeout: float = 120.0  # seconds one picture may take, retries and polling included
    max_audio_seconds: float = 600.0
    max_audio_mb: float = 50.0
    max_frames: int = 24
    teacher_passcode: str = field(default="", repr=False)
    public_url: str = ""  # where students open the app (make run-lan sets it): Home shows a QR code
    # A worker renews its hold on a story and its frames every third of this; a killed worker's
    # story reads as interrupted, and its frames can be drawn by others, once it has run out.
    work_lease_s: float = 60.0
    llm: str = "auto"  # auto: the scene writer runs when a key is set | off: never
    llm_base_url: str = "https://integrate.api.nvidia.com/v1"
    llm_model: str = "meta/llama-3.1-8b-instruct"
    llm_timeout: float = 30.0  # seconds the scene writer may hold pictures back, retries included
    queue_url: str = field(default="", repr=False)  # empty: SQLite queue at <data_dir>/queue.db
    # which job queues the app process serves itself: all, speech, pictures, or none (only
    # external workers, `python -m s2i_core worker`; the app then loads no Whisper model)
    app_worker: str = "all"
    # Teachers (see s2i_ui/roles.py and README, "A whole school on one server")
    teacher_hours: float = 8.0  # a teacher session (passcode or sign-in) ends after the lesson
    # who is a teacher when teachers sign in with the school account ([auth] in secrets.toml):
    # e-mail addresses and domain patterns, "*@school.example, head@other.example"
    teachers: str = ""
    admins: str = ""  # the same for admins, who manage every story; the first owns old stories
    passcode_with_signin: str = ""  # "true": the passcode also works when sign-in is set up
    pictures_per_teacher_day: int = 0  # 0: no limit beyond the key's shared rate (S2I_IMAGE_RPM)

    @classmethod
    def load(cls, secrets: Mapping[str, Any] | None = None, **overrides: Any) -> Settings:
        """Read settings: explicit overrides win, then the environment, then Streamlit secrets."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            env_name = ENV_NAMES[f.name]
            raw = os.environ.get(env_name)
            if raw in (None, "") and secrets is not None:
                raw = _secret(secrets, env_name)
            if raw not in (None, ""):
                values[f.name] = _coerce(f.type, str(raw).strip(), env_name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        if values.get("llm", "auto") not in LLM_MODES:
            raise SettingsError(
                f"The setting S2I_LLM must be auto or off, not {str(values['llm'])[:40]!r}. "
                "Fix it in the environment or in .streamlit/secrets.toml and start the app again."
            )
        backend = str(values.get("image_backend", "auto")).lower()
        if backend not in IMAGE_BACKENDS:
            raise SettingsError(
                f"The setting S2I_IMAGE_BACKEND must be one of {', '.join(IMAGE_BACKENDS)}, "
                f"not {backend[:40]!r}. Fix it in the environment or in .streamlit/secrets.toml "
                "and start the app again."
            )
        values["image_backend"] = backend
        return cls(**values)

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 's2i.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def app_worker_queues(self) -> tuple[str, ...]:
        """The job queues the app process serves itself (S2I_APP_WORKER)."""
        choice = self.app_worker.strip().lower()
        choices = {"all": ("speech", "pictures"), "none": (), "speech": ("speech",)}
        choices["pictures"] = ("pictures",)
        if choice not in choices:
            raise SettingsError(
                f"The setting S2I_APP_WORKER must be one of {', '.join(choices)}, not "
                f"{self.app_worker[:40]!r}. Use 'none' when separate workers "
                "(python -m s2i_core worker) serve every queue."
            )
        return choices[choice]

    @property
    def has_scene_writer(self) -> bool:
        """Whether stories get their scenes from the LLM (else the offline path writes them)."""
        return self.llm == "auto" and bool(self.nvidia_api_key)

    @property
    def max_audio_bytes(self) -> int:
        return int(self.max_audio_mb * 1024 * 1024)


def _secret(secrets: Mapping[str, Any], name: str) -> Any:
    try:
        return secrets.get(name) if hasattr(secrets, "get") else secrets[name]
    except Exception:  # Streamlit raises when no secrets.toml exists at all
        return None


def _coerce(type_name: Any, raw: str, env_name: str) -> Any:
    kind = str(type_name)
    if "int" not in kind and "float" not in kind:
        return raw
    whole = "int" in kind
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not (math.isfinite(value) and value > 0):
        number = "a whole number" if whole else "a number"
        raise SettingsError(
            f"The setting {env_name} must be {number} above 0, not {raw[:40]!r}. "
            "Fix it in the environment or in .streamlit/secrets.toml and start the app again."
        )
    return value
