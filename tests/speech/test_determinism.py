"""The same audio with the same settings gives byte-identical results: in one process and across
processes, on both engines, also when Whisper's fallback ladder runs (where openai-whisper samples
at random, seeded, and faster-whisper retries deterministically)."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from s2i_core import cli
from s2i_core.audio import decode_audio
from s2i_core.speech import DecodingOptions, Segment
from s2i_core.speech.weights import resolve_model

ROOT = Path(__file__).resolve().parents[2]
RUNS = 5
# avg log prob is always below 0, so every window fails the check and runs every rung: the ladder
# is certain to run on any machine, whatever its arithmetic.
ALWAYS_FALL_BACK = DecodingOptions(log_prob_threshold=0.0, no_speech_threshold=None)


def as_json(segments: list[Segment]) -> str:
    return json.dumps([dataclasses.asdict(s) for s in segments])


def test_faster_whisper_ladder_gives_the_same_text_five_times(
    engine_settings, fixtures_dir, caplog
):
    from s2i_core.speech.faster_whisper_engine import FasterWhisperEngine

    path = resolve_model("base", engine_settings.cache_dir)
    engine = FasterWhisperEngine("base", path, "cpu", ALWAYS_FALL_BACK)
    audio = decode_audio(fixtures_dir / "es_story.wav", engine_settings).samples
    with caplog.at_level(logging.DEBUG, logger="s2i_core.speech"):
        runs = {as_json(list(engine.transcribe(audio, "es")[0])) for _ in range(RUNS)}
    assert len(runs) == 1
    assert sum("falls back from temperature 0.0" in m for m in caplog.messages) >= RUNS
    assert "perro" in runs.pop().lower()


@pytest.mark.slow
def test_openai_whisper_sampling_is_seeded(engine_settings, fixtures_dir):
    from s2i_core.speech.openai_whisper_engine import OpenAIWhisperEngine

    options = dataclasses.replace(ALWAYS_FALL_BACK, temperatures=(0.0, 0.6, 1.0))
    engine = OpenAIWhisperEngine(
        "tiny.en", cache_dir=engine_settings.cache_dir, device="cpu", options=options
    )
    audio = decode_audio(fixtures_dir / "en_story.wav", engine_settings).samples
    runs = {as_json(list(engine.transcribe(audio)[0])) for _ in range(RUNS)}
    assert len(runs) == 1
    other_seed = OpenAIWhisperEngine(
        "tiny.en",
        cache_dir=engine_settings.cache_dir,
        device="cpu",
        options=dataclasses.replace(options, seed=1),
    )
    assert "fox" in as_json(list(other_seed.transcribe(audio)[0])).lower()


def test_transcribe_json_is_byte_identical_in_process_and_across_processes(
    engine_settings, fixtures_dir, capsys, monkeypatch
):
    # Hindi forced on a voice base barely understands: the translation falls back.
    args = ["transcribe", str(fixtures_dir / "hi_story.wav"), "--language", "hi", "--json"]
    monkeypatch.setenv("S2I_DATA_DIR", str(engine_settings.data_dir))
    outputs = []
    for _ in range(RUNS):
        assert cli.main(args) == 0
        outputs.append(capsys.readouterr().out)
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "s2i_core", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**_clean_env(), "S2I_DATA_DIR": str(engine_settings.data_dir)},
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert len(set(outputs)) == 1
    assert json.loads(outputs[0])["language"] == "hi"


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("S2I_", "NVIDIA_"))}
