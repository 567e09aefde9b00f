"""Settings come from one place: the environment, then Streamlit secrets, then defaults."""

from __future__ import annotations

import pytest

from s2i_core.errors import SettingsError
from s2i_core.settings import ENV_NAMES, Settings


@pytest.fixture
def env(monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_environment_wins_over_secrets_and_secrets_over_defaults(env):
    env.setenv("S2I_IMAGE_RPM", "12")
    secrets = {"S2I_IMAGE_RPM": "30", "S2I_MAX_FRAMES": "8", "NVIDIA_API_KEY": "nvapi-secret"}
    settings = Settings.load(secrets=secrets)
    assert (settings.image_rpm, settings.max_frames) == (12, 8)
    assert settings.image_concurrency == Settings().image_concurrency
    assert settings.nvidia_api_key == "nvapi-secret"
    assert "nvapi-secret" not in repr(settings)


def test_a_whole_number_setting_takes_a_whole_number(env):
    env.setenv("S2I_ASR_BEAM_SIZE", "1")
    env.setenv("S2I_MAX_AUDIO_MB", "2.5")
    settings = Settings.load()
    assert (settings.asr_beam_size, settings.max_audio_mb) == (1, 2.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("S2I_IMAGE_RPM", "forty"),
        ("S2I_IMAGE_CONCURRENCY", "0"),
        ("S2I_ASR_BEAM_SIZE", "1.5"),
        ("S2I_MAX_AUDIO_SECONDS", "-60"),
        ("S2I_MAX_AUDIO_MB", "nan"),
        ("S2I_IMAGE_TIMEOUT", "inf"),
        ("S2I_IMAGE_BACKEND", "cloud"),
    ],
)
def test_a_setting_that_cannot_be_used_is_named_in_the_message(env, name, value):
    env.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        Settings.load()
    message = str(caught.value)
    assert name in message and repr(value) in message and "secrets.toml" in message
    assert caught.value.user_error


def test_a_bad_secret_is_refused_like_a_bad_environment_variable(env):
    with pytest.raises(SettingsError, match="S2I_MAX_FRAMES"):
        Settings.load(secrets={"S2I_MAX_FRAMES": "lots"})


def test_the_picture_backend_setting_offers_exactly_the_plug_ins():
    from s2i_core.pictures import CHOICES
    from s2i_core.settings import IMAGE_BACKENDS

    assert set(IMAGE_BACKENDS) == set(CHOICES)
