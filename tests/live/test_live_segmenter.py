"""Where a live story is cut: pauses, a sentence longer than 30 s, silence and noise.

Two kinds of test: the cutting rules against a speech detector that says exactly where the test
put "speech" (a tone), so every boundary is known; and Silero VAD itself on the test narrations,
on silence and on noise, as a live story hears them (in uneven chunks, as a network delivers)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from s2i_core.audio import decode_audio
from s2i_core.live.segmenter import CONTEXT, SAMPLE_RATE, Cut, PauseSegmenter, SegmenterOptions
from s2i_core.settings import Settings


def loud(steps: np.ndarray) -> np.ndarray:
    """A speech detector for made-up audio: a step is speech when it is loud."""
    return (np.abs(steps[:, CONTEXT:]).mean(axis=1) > 0.05).astype("float32")


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype("float32")


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype="float32")


def stream(audio: np.ndarray, segmenter: PauseSegmenter, seed: int = 0) -> list[Cut]:
    """Feed ``audio`` in uneven chunks (a network's), then finish."""
    rng = np.random.default_rng(seed)
    cuts, position = [], 0
    while position < len(audio):
        size = int(rng.integers(37, 4000))
        cuts += segmenter.feed(audio[position : position + size])
        position += size
    return cuts + segmenter.finish()


def test_a_short_pause_offers_a_cut_and_a_long_one_ends_the_sentence():
    audio = np.concatenate([tone(1.0), silence(0.5), tone(1.5), silence(1.6), tone(0.8)])
    cuts = stream(audio, PauseSegmenter(probability=loud))
    assert [c.pause for c in cuts] == ["short", "short", "long", "end"]
    first, second, long, end = cuts
    assert first.start == 0.0 and first.end == pytest.approx(1.2, abs=0.05)  # 0.2 s pad
    assert second.start == pytest.approx(1.3, abs=0.05) and second.end == pytest.approx(
        3.2, abs=0.05
    )
    assert (long.start, long.end) == (second.start, second.end)  # the same speech, now final
    assert end.start == pytest.approx(4.4, abs=0.05)
    assert [c.ends_sentence for c in cuts] == [False, False, True, True]


def test_a_breath_shorter_than_the_short_pause_does_not_cut():
    audio = np.concatenate([tone(1.0), silence(0.2), tone(1.0), silence(1.2)])
    cuts = stream(audio, PauseSegmenter(probability=loud))
    assert [c.pause for c in cuts] == ["short", "long"]
    assert cuts[0].start == 0.0 and cuts[0].end == pytest.approx(2.4, abs=0.05)


def test_a_sentence_longer_than_30_seconds_is_cut_at_its_quietest_moment():
    # 40 s of speech whose only dip (too short to be a pause) is at 18 s
    audio = np.concatenate([tone(18.0), silence(0.1), tone(22.0), silence(1.2)])
    options = SegmenterOptions(max_speech_s=25.0)
    cuts = stream(audio, PauseSegmenter(options, probability=loud))
    assert [c.pause for c in cuts] == ["forced", "short", "long"]
    forced = cuts[0]
    assert forced.end == pytest.approx(18.05, abs=0.1)  # the dip, not the 25 s mark
    assert all(c.end - c.start <= 30.0 for c in cuts)  # Whisper hears each whole
    assert cuts[1].end == pytest.approx(40.3, abs=0.1)  # nothing of the speech is lost


def test_speech_without_any_dip_is_cut_before_whisper_s_30_seconds():
    audio = tone(70.0)
    cuts = stream(audio, PauseSegmenter(probability=loud))
    assert [c.pause for c in cuts] == ["forced", "forced", "end"]
    assert all(0 < c.end - c.start <= 25.5 for c in cuts)
    assert cuts[-1].end == pytest.approx(70.0, abs=0.05)
    assert all(a.end <= b.start + 0.25 for a, b in itertools.pairwise(cuts))


def test_silence_gives_no_cut():
    segmenter = PauseSegmenter(probability=loud)
    assert stream(silence(20.0), segmenter) == []


def test_clicks_and_coughs_shorter_than_speech_are_not_cut():
    bursts = [np.concatenate([silence(1.0), tone(0.1)]) for _ in range(8)]
    audio = np.concatenate([*bursts, silence(1.5)])
    assert stream(audio, PauseSegmenter(probability=loud)) == []


def test_uneven_chunks_give_the_cuts_of_the_whole_recording():
    audio = np.concatenate([tone(1.0), silence(0.5), tone(2.0), silence(1.2), tone(0.6)])
    whole = PauseSegmenter(probability=loud)
    expected = whole.feed(audio) + whole.finish()
    for seed in range(5):
        assert stream(audio, PauseSegmenter(probability=loud), seed) == expected


# --- Silero VAD itself --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def narration(fixtures_dir) -> np.ndarray:
    return decode_audio(fixtures_dir / "en_story.wav", Settings()).samples


def test_silero_cuts_the_narration_at_its_sentence_pauses(narration):
    """en_story.wav: four sentences with espeak's pauses of about 0.35 s between them."""
    cuts = stream(narration, PauseSegmenter())
    ends = [c for c in cuts if c.pause != "long"]
    assert 4 <= len(ends) <= 8, cuts  # every sentence end, and perhaps a comma's breath
    heard = sum(c.end - c.start for c in ends)
    assert heard > 0.8 * (len(narration) / SAMPLE_RATE - 1.0)  # the speech is all in the cuts
    assert cuts[-1].ends_sentence


def test_silero_streamed_hears_what_it_hears_in_one_piece(narration):
    whole = PauseSegmenter()
    expected = whole.feed(narration) + whole.finish()
    assert stream(narration, PauseSegmenter(), seed=3) == expected


def test_silero_hears_no_speech_in_silence_or_steady_noise():
    rng = np.random.default_rng(0)
    hiss = (0.02 * rng.standard_normal(20 * SAMPLE_RATE)).astype("float32")  # about -34 dBFS
    hum = (0.05 * np.sin(2 * np.pi * 50 * np.arange(20 * SAMPLE_RATE) / SAMPLE_RATE)).astype(
        "float32"
    )
    for audio in (silence(20.0), hiss, hum):
        assert stream(audio, PauseSegmenter()) == []


def test_silero_hears_speech_through_noise(narration):
    rng = np.random.default_rng(1)
    noisy = narration + (0.01 * rng.standard_normal(len(narration))).astype("float32")
    cuts = stream(noisy, PauseSegmenter())
    assert cuts and cuts[0].start < 1.0 and cuts[-1].end > len(narration) / SAMPLE_RATE - 2.0
