"""The openai-whisper engine runs offline on the bundled weights and hears what faster-whisper does.

Each engine loads once per session (``load_engine`` caches it) and each clip is transcribed once.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import ctranslate2
import numpy as np
import pytest
import torch
import whisper
from ctranslate2.specs import whisper_spec
from ctranslate2.specs.model_spec import index_spec
from whisper.model import ModelDimensions

from s2i_core.audio import decode_audio
from s2i_core.errors import SpeechModelError
from s2i_core.settings import Settings
from s2i_core.speech import SpeechEngine, Transcription, load_engine, openai_whisper_engine
from s2i_core.speech.ct2_to_whisper import cached_checkpoint, read_ct2_model
from s2i_core.speech.openai_whisper_engine import OpenAIWhisperEngine
from s2i_core.speech.weights import resolve_model
from tests.wer import word_error_rate

pytestmark = pytest.mark.slow

# (model, clip): the multilingual base model on English and Spanish, English-only tiny.en.
CLIPS = [("base", "en_long"), ("base", "es_story"), ("tiny.en", "en_story")]
# int8 (faster-whisper) and fp32 (openai-whisper) arithmetic pick different words now and then,
# and differently on different CPUs: es_story was seen at 0.17 between the engines on one machine
# (AVX-512) and 0.0 on another, so the bound leaves room above the largest spread seen.
MAX_WER = 0.25


@pytest.fixture(scope="session")
def engine_for(engine_settings: Settings) -> Callable[[str, str], SpeechEngine]:
    def get(engine: str, model: str) -> SpeechEngine:
        return load_engine(engine_settings.with_changes(asr_engine=engine, whisper_model=model))

    return get


@pytest.fixture(scope="session")
def clip_audio(engine_settings: Settings, fixtures_dir: Path) -> Callable[[str], np.ndarray]:
    return lambda clip: decode_audio(fixtures_dir / f"{clip}.wav", engine_settings).samples


@pytest.fixture(scope="session")
def transcript(engine_for, clip_audio) -> Callable[[str, str, str], Transcription]:
    done: dict[tuple[str, str, str], Transcription] = {}

    def get(engine: str, model: str, clip: str) -> Transcription:
        if (engine, model, clip) not in done:
            segments, info = engine_for(engine, model).transcribe(clip_audio(clip))
            done[engine, model, clip] = Transcription(info, list(segments))
        return done[engine, model, clip]

    return get


@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_converted_model_encodes_audio_like_ctranslate2(
    model, engine_for, engine_settings, clip_audio
):
    torch_model = engine_for("openai-whisper", model).whisper
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(clip_audio("en_story")))[None]
    with torch.no_grad():
        ours = torch_model.encoder(mel.to(torch_model.device)).cpu().numpy()  # a GPU box: cuda
    folder = resolve_model(model, engine_settings.cache_dir)
    reference = ctranslate2.models.Whisper(folder, device="cpu", compute_type="float32")
    theirs = np.asarray(reference.encode(ctranslate2.StorageView.from_array(mel.numpy())))

    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-2 < np.abs(theirs).max()


@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_conversion_is_cached_once_as_a_standard_whisper_checkpoint(
    model, engine_for, engine_settings
):
    engine = engine_for("openai-whisper", model)
    cache_file = engine_settings.cache_dir / "openai-whisper" / f"{model}.pt"
    written_at = cache_file.stat().st_mtime_ns

    cached_checkpoint(Path(resolve_model(model, engine_settings.cache_dir)), cache_file)
    reloaded = whisper.load_model(str(cache_file), device="cpu")  # openai-whisper's own loader

    assert cache_file.stat().st_mtime_ns == written_at
    assert reloaded.dims == engine.whisper.dims
    ours = engine.whisper.state_dict()
    assert all(
        torch.equal(ours[name].cpu(), value) for name, value in reloaded.state_dict().items()
    )


def test_model_folder_is_converted_again_when_its_weights_change(engine_settings, tmp_path):
    folder = tmp_path / "my-whisper"
    shutil.copytree(resolve_model("tiny.en", engine_settings.cache_dir), folder)
    engine = OpenAIWhisperEngine(str(folder), cache_dir=tmp_path / "cache", device="cpu")
    (cache_file,) = (tmp_path / "cache" / "openai-whisper").glob("my-whisper-*.pt")
    first_write = cache_file.stat().st_mtime_ns

    cached_checkpoint(folder, cache_file)
    assert cache_file.stat().st_mtime_ns == first_write
    os.utime(folder / "model.bin", ns=(first_write + 10**9, first_write + 10**9))
    checkpoint = cached_checkpoint(folder, cache_file)
    assert cache_file.stat().st_mtime_ns != first_write
    assert checkpoint["dims"] == dataclasses.asdict(engine.whisper.dims)


def test_damaged_cache_file_is_rebuilt(engine_settings, tmp_path):
    cache_file = tmp_path / "tiny.en.pt"
    cache_file.write_bytes(b"half a checkpoint")
    folder = Path(resolve_model("tiny.en", engine_settings.cache_dir))

    checkpoint = cached_checkpoint(folder, cache_file)

    assert whisper.load_model(str(cache_file), device="cpu").dims.n_vocab == 51864
    assert checkpoint["dims"]["n_text_layer"] == 4


def quantize_to_int8(source: Path, target: Path, dims: ModelDimensions) -> None:
    """Write ``source`` as an int8 CTranslate2 model, quantized by CTranslate2's own converter."""
    model = read_ct2_model(source / "model.bin")
    spec = whisper_spec.WhisperSpec(
        dims.n_audio_layer, dims.n_audio_head, dims.n_text_layer, dims.n_text_head
    )
    for name, value in model.variables.items():
        scope, attribute = name.rsplit("/", 1)
        array = value.numpy()
        setattr(index_spec(spec, scope), attribute, array if array.ndim else array[()])
    spec.register_vocabulary((source / "vocabulary.txt").read_text().splitlines())
    spec.validate()
    spec.optimize(quantization="int8")
    target.mkdir()
    spec.save(str(target))
    shutil.copy(source / "config.json", target / "config.json")
    shutil.copy(source / "tokenizer.json", target / "tokenizer.json")


def test_int8_model_folder_is_dequantized(engine_for, engine_settings, clip_audio, tmp_path):
    quantized = tmp_path / "tiny-int8"
    tiny = Path(resolve_model("tiny.en", engine_settings.cache_dir))
    quantize_to_int8(tiny, quantized, engine_for("openai-whisper", "tiny.en").whisper.dims)
    engine = OpenAIWhisperEngine(str(quantized), cache_dir=tmp_path / "cache", device="cpu")
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(clip_audio("en_story")))[None]
    with torch.no_grad():
        ours = engine.whisper.encoder(mel).numpy()
    reference = ctranslate2.models.Whisper(str(quantized), device="cpu", compute_type="float32")
    theirs = np.asarray(reference.encode(ctranslate2.StorageView.from_array(mel.numpy())))

    assert read_ct2_model(quantized / "model.bin").variables["encoder/conv2/weight"].dtype == (
        torch.int8
    )
    assert np.abs(ours - theirs).max() < 2e-2 < np.abs(theirs).max()


def test_damaged_ctranslate2_model_is_reported(tmp_path):
    damaged = tmp_path / "model.bin"
    damaged.write_bytes(b"\x06\x00\x00\x00\x0c\x00WhisperSpec")

    with pytest.raises(SpeechModelError, match="damaged"):
        read_ct2_model(damaged)


@pytest.mark.parametrize(("model", "clip"), CLIPS)
def test_both_engines_hear_the_same_words(model, clip, transcript):
    faster = transcript("faster-whisper", model, clip)
    reference = transcript("openai-whisper", model, clip)

    assert reference.text
    assert word_error_rate(faster.text, reference.text) <= MAX_WER
    assert reference.info.language == faster.info.language == clip[:2]


@pytest.mark.parametrize(("model", "clip"), CLIPS)
def test_word_timestamps_fall_inside_the_recording(model, clip, transcript):
    result = transcript("openai-whisper", model, clip)
    starts = [w.start for w in result.words]

    assert len(result.words) >= 15
    assert all(0 <= w.start <= w.end <= result.info.duration + 0.05 for w in result.words)
    assert starts == sorted(starts)
    assert result.words[-1].end > result.info.duration / 2
    for segment in result.segments:
        assert "".join(w.word for w in segment.words).strip() == segment.text.strip()


def test_info_names_engine_device_and_precision(transcript, clip_audio):
    info = transcript("openai-whisper", "base", "es_story").info
    on_gpu = torch.cuda.is_available()

    assert (info.engine, info.model) == ("openai-whisper", "base")
    assert (info.device, info.compute_type) == (
        ("cuda", "float16") if on_gpu else ("cpu", "float32")
    )
    assert 0.5 < info.language_probability <= 1.0
    assert info.duration == pytest.approx(len(clip_audio("es_story")) / 16000)


def test_both_engines_translate_the_story_into_english(engine_for, clip_audio):
    # Translations are scored low and vary between int8 and fp32 arithmetic (and between CPUs), so
    # only what a reader needs is compared: the nouns of the story, in English.
    audio = clip_audio("es_story")
    for engine in ("openai-whisper", "faster-whisper"):
        english = " ".join(s.text for s in engine_for(engine, "base").translate(audio, "es"))
        heard = set(re.findall(r"\w+", english.lower()))
        assert len({"dog", "cat", "house", "children", "park"} & heard) >= 3, (engine, english)


def test_unknown_model_name_is_explained(tmp_path):
    with pytest.raises(SpeechModelError, match="no Whisper model called 'huge-v9'"):
        OpenAIWhisperEngine("huge-v9", cache_dir=tmp_path, device="cpu")


def test_cuda_request_without_a_usable_gpu_is_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(openai_whisper_engine, "cuda_available", lambda backend: False)

    with pytest.raises(SpeechModelError, match="S2I_ASR_DEVICE"):
        OpenAIWhisperEngine("tiny.en", cache_dir=tmp_path, device="cuda")
