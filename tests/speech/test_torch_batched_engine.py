"""The batched torch engine (what `auto` runs on a GPU CTranslate2 cannot use), run on the CPU.

CI has no GPU, so this exercises everything but the fp16 weights and the CUDA graph: the same
decoder, beam search in tensors, windows at VAD pauses, several windows in one batch, the seeded
fallback and word times from the alignment heads, eagerly in fp32. That the captured graph picks
exactly the eager tokens is checked on the GPU machine (`python -m bench.gpu OUT --self-test`).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
import whisper

from s2i_core.audio import SAMPLE_RATE, decode_audio
from s2i_core.speech import DeviceProbe, choose_engine, transcribe
from s2i_core.speech.batched.windows import (
    BatchOptions,
    Window,
    is_one_stretch,
    log_mel_batch,
    plan_windows,
)
from s2i_core.speech.torch_batched_engine import BatchedTorchEngine
from tests.wer import word_error_rate

MAX_WER = 0.05  # against the CPU engine, as tests/speech/test_openai_engine.py holds openai-whisper


@pytest.fixture(scope="module")
def batched(engine_settings) -> BatchedTorchEngine:
    return BatchedTorchEngine(
        "base", cache_dir=engine_settings.cache_dir, device="cpu", batch=BatchOptions(max_windows=4)
    )


@pytest.fixture(scope="module")
def clip(engine_settings, fixtures_dir):
    return lambda name: decode_audio(fixtures_dir / f"{name}.wav", engine_settings).samples


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def test_auto_picks_the_batched_engine_on_a_gpu_ctranslate2_cannot_use():
    probe = DeviceProbe(ctranslate2_cuda=False, torch_cuda=True)
    assert choose_engine("auto", "auto", probe) == ("torch-batched", "cuda")
    assert choose_engine("auto", "auto", DeviceProbe(True, True)) == ("faster-whisper", "cuda")


def test_windows_end_at_pauses_and_never_span_a_long_silence(clip):
    # 23 s of speech, a short pause, 14 s more, a 3 s silence, then 8 s more
    parts = [clip("en_long"), silence(0.5), clip("en_story"), silence(3.0), clip("es_story")]
    audio = np.concatenate(parts)
    windows = plan_windows(audio, gap=2.0, seconds=24.0)
    silent_from = (len(parts[0]) + len(parts[1]) + len(parts[2])) / SAMPLE_RATE
    assert len(windows) >= 3
    assert all(w.seconds <= 24.0 for w in windows)
    assert all(a.end <= b.start for a, b in itertools.pairwise(windows))
    # no window crosses the 3 s silence, and the speech on both sides of it is inside windows
    assert not any(w.start / SAMPLE_RATE < silent_from + 1 < w.end / SAMPLE_RATE for w in windows)
    assert windows[0].start / SAMPLE_RATE < 0.5
    assert windows[-1].end / SAMPLE_RATE > len(audio) / SAMPLE_RATE - 1
    assert not is_one_stretch(windows, len(audio))
    # a story told in one breath is decoded whole, as Whisper would
    story = clip("en_story")
    assert is_one_stretch(plan_windows(story), len(story))


def test_beam_search_picks_the_tokens_openai_whisper_picks(batched, clip):
    """Same model, same spectrogram: our tensor beam search and whisper's own decode agree."""
    audio = clip("de_story")
    mel = log_mel_batch(audio, [Window(0, len(audio))], 80, "cpu")
    options = whisper.DecodingOptions(language="de", beam_size=5, fp16=False)
    with torch.no_grad():
        reference = whisper.decode(batched.whisper, mel[0], options)
        features = batched.whisper.encoder(mel)
        ours = batched.decoder.decode(
            features, [len(audio) // 160], batched._tokenizer("de"), 0.0, 5, 224
        )[0]
    assert ours.tokens == reference.tokens
    assert ours.avg_logprob == pytest.approx(reference.avg_logprob, abs=1e-3)
    assert ours.no_speech_prob == pytest.approx(reference.no_speech_prob, abs=1e-3)


@pytest.mark.parametrize("name", ["en_story", "es_story"])
def test_it_hears_what_the_cpu_engine_hears_with_timed_words(
    name, batched, speech_engine, engine_settings, fixtures_dir
):
    audio = decode_audio(fixtures_dir / f"{name}.wav", engine_settings)
    ours = transcribe(audio, engine_settings, engine=batched)
    theirs = transcribe(audio, engine_settings, engine=speech_engine)
    assert word_error_rate(theirs.text, ours.text) <= MAX_WER, (theirs.text, ours.text)
    assert (ours.info.engine, ours.info.device, ours.info.compute_type) == (
        "torch-batched",
        "cpu",
        "float32",
    )
    assert ours.info.language == theirs.info.language
    words = ours.words
    assert len(words) >= len(ours.text.split()) - 2
    assert all(0 <= w.start <= w.end <= audio.duration + 0.05 for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    # each word lies where the CPU engine heard it (same weights, a different aligner pass)
    heard = {re.sub(r"\W", "", w.word.lower()): w.start for w in theirs.words}
    shared = [
        (heard[k], w.start) for w in words if (k := re.sub(r"\W", "", w.word.lower())) in heard
    ]
    assert len(shared) >= len(words) // 2
    assert np.median([abs(a - b) for a, b in shared]) < 0.3


def test_windows_decoded_together_read_as_when_decoded_alone(batched, clip):
    audio = clip("en_long")
    windows = plan_windows(audio, seconds=12.0)
    assert len(windows) >= 2
    frames = [(w.end - w.start) // 160 for w in windows]
    tokenizer = batched._tokenizer("en")
    with torch.no_grad():
        features = batched._encode(audio, windows)
        together = batched.decoder.decode(features, frames, tokenizer, 0.0, 5, 224)
        alone = [
            batched.decoder.decode(features[i : i + 1], frames[i : i + 1], tokenizer, 0.0, 5, 224)
            for i in range(len(windows))
        ]
    for joint, (single,) in zip(together, alone, strict=True):
        assert word_error_rate(single.text, joint.text) <= MAX_WER, (single.text, joint.text)
        assert len(joint.words) == len(single.words)


def test_fallback_sampling_gives_the_same_text_every_time(batched, clip):
    audio = clip("es_story")
    windows = [Window(0, len(audio))]
    tokenizer = batched._tokenizer("es")
    with torch.no_grad():
        features = batched._encode(audio, windows)
        runs = [
            batched.decoder.decode(features, [len(audio) // 160], tokenizer, 0.8, 5, 224)[0]
            for _ in range(2)
        ]
    assert runs[0].tokens == runs[1].tokens
    assert runs[0].temperature == 0.8 and runs[0].text


def test_silence_has_no_words(batched, engine_settings):
    segments, info = batched.transcribe(silence(5.0))
    assert list(segments) == [] and info.duration == pytest.approx(5.0)


def test_translation_gives_english(batched, clip):
    english = " ".join(s.text for s in batched.translate(clip("es_story"), "es")).lower()
    assert {"dog", "cat", "house", "children", "park"} & set(re.findall(r"\w+", english))
