"""Reading recordings and uploads: every common format in, a clear error for every bad file."""

from __future__ import annotations

import io
import os
import re
import struct
import wave

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2i_core.audio import (
    SAMPLE_RATE,
    decode_audio,
    narration_for_replay,
    probe_format,
    wav_bytes,
)
from s2i_core.errors import (
    AudioError,
    AudioTooLargeError,
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    NoSpeechError,
    NotAudioError,
)
from s2i_core.settings import Settings

STORY_SECONDS = 14.129  # en_story.wav
LIMITS = Settings(max_audio_seconds=600, max_audio_mb=50)

# (container, codec, sample rate, layout, format we report, extension and MIME for replay)
FORMATS = {
    "mp3": ("mp3", "libmp3lame", 16000, "mono", "mp3", "mp3", "audio/mpeg"),
    "m4a-aac": ("ipod", "aac", 44100, "stereo", "mp4", "m4a", "audio/mp4"),
    "ogg-opus": ("ogg", "libopus", 48000, "mono", "ogg", "ogg", "audio/ogg"),
    "webm-opus": ("webm", "libopus", 48000, "mono", "webm", "webm", "audio/webm"),
    "flac": ("flac", "flac", 16000, "mono", "flac", "flac", "audio/flac"),
    "wav-8bit-8khz": ("wav", "pcm_u8", 8000, "mono", "wav", "wav", "audio/wav"),
    "wav-48khz-stereo": ("wav", "pcm_s16le", 48000, "stereo", "wav", "wav", "audio/wav"),
}


@pytest.fixture(scope="module")
def story_wav(fixtures_dir) -> bytes:
    return (fixtures_dir / "en_story.wav").read_bytes()


@pytest.fixture(scope="module")
def story(story_wav):
    return decode_audio(story_wav, LIMITS)


def sounds_alike(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the loudness per 50 ms (what survives a lossy codec), once ``b`` is lined
    up with ``a``: some encoders put a few milliseconds of silence in front."""
    lead = int(np.argmax(np.correlate(b[: SAMPLE_RATE + 4000], a[:SAMPLE_RATE], "valid")))

    def envelope(samples: np.ndarray) -> np.ndarray:
        usable = len(samples) // 800 * 800
        return np.sqrt((samples[:usable].reshape(-1, 800) ** 2).mean(axis=1))

    x, y = envelope(a), envelope(b[lead:])
    n = min(len(x), len(y))
    return float(np.corrcoef(x[:n], y[:n])[0, 1])


def test_the_fixture_wav_decodes_to_16k_mono(story):
    assert story.samples.dtype == np.float32 and story.samples.ndim == 1
    assert story.sample_rate == SAMPLE_RATE
    assert story.duration == pytest.approx(STORY_SECONDS, abs=0.01)
    assert len(story.samples) == round(story.duration * SAMPLE_RATE)
    assert story.format == "wav"


@pytest.mark.parametrize("name", FORMATS)
def test_every_common_format_decodes_to_the_same_sound(name, fixtures_dir, encode_audio, story):
    container, codec, rate, layout, fmt, ext, mime = FORMATS[name]
    data = encode_audio(fixtures_dir / "en_story.wav", container, codec, rate, layout)
    decoded = decode_audio(data, LIMITS)
    assert decoded.format == fmt == probe_format(data)
    assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
    assert decoded.duration == pytest.approx(STORY_SECONDS, abs=0.1)
    assert sounds_alike(story.samples, decoded.samples) > 0.95
    assert narration_for_replay(data) == (data, ext, mime)  # browsers play it: kept as it is


def test_a_browser_recording_without_a_length_in_its_header_decodes(fixtures_dir, encode_audio):
    live = encode_audio(fixtures_dir / "en_story.wav", "webm", "libopus", 48000, live="1")
    decoded = decode_audio(live, LIMITS)
    assert (decoded.format, round(decoded.duration)) == ("webm", 14)


def test_a_path_decodes_like_bytes(fixtures_dir, story):
    from_path = decode_audio(fixtures_dir / "en_story.wav", LIMITS)
    assert np.array_equal(from_path.samples, story.samples)


def test_a_format_browsers_cannot_play_is_replayed_as_wav(fixtures_dir, encode_audio, story):
    aiff = encode_audio(fixtures_dir / "en_story.wav", "aiff", "pcm_s16be", 22050)
    data, ext, mime = narration_for_replay(aiff)
    assert (ext, mime) == ("wav", "audio/wav")
    assert decode_audio(data, LIMITS).duration == pytest.approx(STORY_SECONDS, abs=0.01)
    reused, _, _ = narration_for_replay(aiff, decode_audio(aiff, LIMITS))
    assert reused == data  # the same WAV, without decoding twice


def test_quiet_speech_is_not_mistaken_for_silence(story):
    quiet = wav_bytes(story.samples * 0.03)  # about -30 dB: a soft voice far from the mic
    assert decode_audio(quiet, LIMITS).duration == pytest.approx(STORY_SECONDS, abs=0.01)


# --- bad input, each with its own error -------------------------------------------------------
def test_empty_input(tmp_path):
    with pytest.raises(EmptyAudioError, match="empty"):
        decode_audio(b"", LIMITS)
    empty = tmp_path / "recording.webm"
    empty.write_bytes(b"")
    with pytest.raises(EmptyAudioError):
        decode_audio(empty, LIMITS)


def test_a_wav_with_a_header_and_no_sound_is_empty(story_wav):
    with pytest.raises(EmptyAudioError):
        decode_audio(story_wav[:40] + struct.pack("<I", 0), LIMITS)


@pytest.mark.parametrize(
    "data",
    [
        b"Once upon a time there was a fox.\n" * 40,
        bytes(np.random.default_rng(7).integers(0, 256, 20_000, dtype=np.uint8)),
        bytes(4096),
    ],
    ids=["text", "random-bytes", "zeros"],
)
def test_what_is_not_audio_is_refused(data, tmp_path):
    with pytest.raises(NotAudioError, match="not audio"):
        decode_audio(data, LIMITS)
    renamed = tmp_path / "story.wav"
    renamed.write_bytes(data)
    with pytest.raises(NotAudioError):
        decode_audio(renamed, LIMITS)


def test_a_picture_renamed_wav_is_refused(tmp_path):
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(picture, format="PNG")
    renamed = tmp_path / "story.wav"
    renamed.write_bytes(picture.getvalue())
    with pytest.raises(NotAudioError, match="not audio: it is a picture") as refused:
        decode_audio(renamed, LIMITS)
    assert "png" not in str(refused.value).lower()  # no decoder jargon
    with pytest.raises(NotAudioError):
        narration_for_replay(picture.getvalue())


def test_a_file_cut_off_while_uploading_is_corrupt(story_wav):
    with pytest.raises(CorruptAudioError, match="cut off"):
        decode_audio(story_wav[: len(story_wav) // 2], LIMITS)
    with pytest.raises(CorruptAudioError):
        decode_audio(story_wav[:30], LIMITS)  # even the header is cut


def test_silence_is_refused(story):
    with pytest.raises(NoSpeechError, match="silent"):
        decode_audio(wav_bytes(np.zeros(3 * SAMPLE_RATE, np.float32)), LIMITS)
    hum = np.full(3 * SAMPLE_RATE, 0.2, np.float32)  # a microphone's DC offset is no sound
    with pytest.raises(NoSpeechError):
        decode_audio(wav_bytes(hum), LIMITS)


def test_a_too_long_recording_is_refused_from_its_header(story_wav):
    two_hours = story_wav[:40] + struct.pack("<I", SAMPLE_RATE * 2 * 7200) + story_wav[44:]
    with pytest.raises(AudioTooLongError, match="120 min"):
        decode_audio(two_hours, LIMITS)


def test_a_long_mp3_is_refused_without_decoding_it(fixtures_dir, encode_audio):
    clip = encode_audio(fixtures_dir / "en_story.wav", "mp3", "libmp3lame", 16000)
    two_hours = clip * 510  # MP3 frames simply follow each other: 510 x 14 s
    with pytest.raises(AudioTooLongError) as refused:
        decode_audio(two_hours, LIMITS)
    # the whole length is named: it was read from the header (decoding stops at the limit
    # and cannot know how long the rest would have lasted)
    assert re.search(r"too long \((11\d|12\d) min", str(refused.value)), refused.value


def test_decoding_stops_at_the_limit_when_the_header_has_no_length(fixtures_dir, encode_audio):
    live = encode_audio(fixtures_dir / "en_long.wav", "webm", "libopus", 48000, live="1")
    with pytest.raises(AudioTooLongError, match="at most 5 s"):
        decode_audio(live, Settings(max_audio_seconds=5))


def test_a_too_large_file_is_refused_before_reading_it(tmp_path):
    huge = tmp_path / "huge.wav"
    with huge.open("wb") as handle:
        handle.truncate(10 * 1024**3)  # 10 GB of nothing: reading it would never finish in time
    with pytest.raises(AudioTooLargeError, match="50 MB"):
        decode_audio(huge, LIMITS)
    with pytest.raises(AudioTooLargeError):
        decode_audio(b"RIFF" + bytes(2 * 1024 * 1024), Settings(max_audio_mb=1))


def test_errors_are_sentences_that_say_what_to_do(story_wav):
    for data in (b"", b"plain text, not sound", story_wav[: len(story_wav) // 2]):
        with pytest.raises(AudioError) as caught:
            decode_audio(data, LIMITS)
        message = str(caught.value)
        assert message[0].isupper() and message.endswith(".")
        assert any(verb in message for verb in ("Record", "Upload", "upload"))


# --- properties ------------------------------------------------------------------------------
def _story_head() -> bytes:
    with wave.open(os.path.join(os.path.dirname(__file__), "fixtures", "en_story.wav")) as w:
        frames = w.readframes(8000)
    return wav_bytes(np.frombuffer(frames, "<i2").astype(np.float32) / 32768)


STORY_HALF_SECOND = _story_head()
MAGIC = [
    b"",
    b"RIFF",
    b"RIFF\x00\x00\x00\x00WAVEfmt ",
    b"ID3",
    b"OggS",
    b"fLaC",
    b"\x1a\x45\xdf\xa3",
]


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=4000))
    data = bytearray(STORY_HALF_SECOND)
    for _ in range(draw(st.integers(1, 20))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@pytest.mark.timeout(300)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_files())
def test_any_bytes_give_audio_or_an_audio_error(data):
    try:
        narration_for_replay(data)
        decoded = decode_audio(data, LIMITS)
    except AudioError:
        return
    assert decoded.samples.dtype == np.float32 and decoded.duration > 0
