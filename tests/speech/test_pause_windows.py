"""A recording cut at its pauses into windows decoded on their own, side by side, greedy where
the model is sure: the words, their times and their order come out as if decoded one by one."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import logging
import re

import numpy as np
import pytest

from s2i_core.audio import SAMPLE_RATE, DecodedAudio, decode_audio
from s2i_core.errors import NoSpeechError
from s2i_core.speech import DecodingOptions, Segment, transcribe
from s2i_core.speech.calibration import Layout
from s2i_core.speech.faster_whisper_engine import FasterWhisperEngine
from s2i_core.speech.weights import resolve_model
from s2i_core.speech.windows import plan_windows

PAUSE_S = 3.0  # longer than the hallucination guard's 2 s: always ends a window


@pytest.fixture(scope="session")
def long_story(fixtures_dir, engine_settings) -> DecodedAudio:
    """40 s: en_long, a 3 s pause, en_story (two windows, cut at the pause)."""

    def clip(name: str) -> np.ndarray:
        return decode_audio(fixtures_dir / f"{name}.wav", engine_settings).samples

    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), dtype=np.float32)
    samples = np.concatenate([clip("en_long"), pause, clip("en_story")])
    return DecodedAudio(samples, len(samples) / SAMPLE_RATE, "wav")


@pytest.fixture(scope="session")
def one_core_engine(engine_settings) -> FasterWhisperEngine:
    path = resolve_model("base", engine_settings.cache_dir)
    return FasterWhisperEngine("base", path, "cpu", DecodingOptions(), Layout(1, 1))


def heard_with(engine: FasterWhisperEngine, options: DecodingOptions, audio) -> list[Segment]:
    """What ``engine``'s model hears with other decoding options (the weights are shared)."""
    other = copy.copy(engine)
    other.options = options
    return list(other.transcribe(audio, "en")[0])


def as_json(segments: list[Segment]) -> str:
    return json.dumps([dataclasses.asdict(s) for s in segments])


def test_windows_end_at_pauses_and_leave_a_long_silence_out(long_story):
    windows = plan_windows(long_story.samples, 24.0, gap=2.0)
    first_clip_end = 23.2  # en_long
    assert len(windows) == 2
    assert all(w.seconds <= 24.0 for w in windows)
    assert all(a.end <= b.start for a, b in itertools.pairwise(windows))
    silence = (first_clip_end + 0.5, first_clip_end + PAUSE_S - 0.5)
    assert not any(w.offset < silence[1] and w.offset + w.seconds > silence[0] for w in windows)
    assert windows[0].offset < 0.5 and windows[-1].offset + windows[-1].seconds > 39.0


def test_a_long_recording_is_heard_in_order_with_times_from_its_start(
    long_story, engine_settings, speech_engine
):
    transcription = transcribe(long_story, engine_settings, "en", speech_engine)
    text = transcription.text.lower()
    order = [text.find(word) for word in ("brown", "island", "fox", "mother")]
    assert -1 not in order and order == sorted(order), text
    assert [s.id for s in transcription.segments] == list(range(1, len(transcription.segments) + 1))
    words = transcription.words
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    assert all(0 <= w.start <= w.end <= long_story.duration for w in words)
    fox = next(w for w in words if "fox" in w.word.lower())
    assert fox.start > 23.2 + PAUSE_S  # timed from the recording's start, not its window's


def test_the_layout_never_changes_the_words(long_story, engine_settings, one_core_engine):
    path = resolve_model("base", engine_settings.cache_dir)
    side_by_side = FasterWhisperEngine("base", path, "cpu", DecodingOptions(), Layout(2, 1))
    runs = [
        as_json(list(engine.transcribe(long_story.samples, "en")[0]))
        for engine in (one_core_engine, side_by_side)
    ]
    assert runs[0] == runs[1]


def test_greedy_windows_are_redone_with_the_beam_where_the_model_is_unsure(
    fixtures_dir, engine_settings, one_core_engine, caplog
):
    audio = decode_audio(fixtures_dir / "en_long.wav", engine_settings).samples
    with caplog.at_level(logging.DEBUG, logger="s2i_core.speech"):
        never_sure = heard_with(one_core_engine, DecodingOptions(beam_below=0.0), audio)
    assert any("beam search redoes a greedy window" in m for m in caplog.messages)
    beam_always = heard_with(one_core_engine, DecodingOptions(beam_below=None), audio)
    assert as_json(never_sure) == as_json(beam_always)

    always_sure = heard_with(one_core_engine, DecodingOptions(beam_below=float("-inf")), audio)
    greedy_only = heard_with(one_core_engine, DecodingOptions(beam_size=1), audio)
    assert as_json(always_sure) == as_json(greedy_only)
    assert re.search(r"\bboat\b", as_json(always_sure).lower())


def test_silence_has_no_windows_and_no_words(engine_settings, speech_engine):
    silence = np.zeros(5 * SAMPLE_RATE, dtype=np.float32)
    assert plan_windows(silence, 24.0, gap=2.0) == []
    with pytest.raises(NoSpeechError):
        transcribe(DecodedAudio(silence, 5.0, "wav"), engine_settings, None, speech_engine)


def test_the_story_so_far_is_the_prompt_of_every_window(long_story, one_core_engine):
    """A live story's sentence is heard with the sentences before it as Whisper's prompt; cut at
    its pauses, every window of the recording starts from them (as in Whisper, audio a window
    still holds after its first pass is decoded without the prompt)."""
    engine = copy.copy(one_core_engine)
    engine._whisper = copy.copy(one_core_engine._whisper)
    model, prompts = engine._whisper.model, []

    class PromptSpy:
        def __getattr__(self, name):
            return getattr(model, name)

        def generate(self, features, prompt_ids, **kwargs):
            prompts.append(engine._whisper.hf_tokenizer.decode(prompt_ids[0]))
            return model.generate(features, prompt_ids, **kwargs)

    engine._whisper.model = PromptSpy()
    story_so_far = "Mr. Brown sailed to the island."
    segments = list(engine.transcribe(long_story.samples, "en", prompt=story_so_far)[0])
    assert segments
    windows = plan_windows(long_story.samples, 24.0, gap=2.0)
    assert sum(story_so_far in prompt for prompt in prompts) == len(windows) == 2, prompts
