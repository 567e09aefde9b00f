"""The pure parts of speech: loop guards, token budgets, and English segments given to sentences."""

from __future__ import annotations

import numpy as np

from s2i_core.speech import Segment
from s2i_core.speech.guards import (
    MAX_TOKENS,
    compression_ratio,
    cut_before_loop,
    loop_start,
    token_budget,
)
from s2i_core.speech.translation import assign_to_spans, english_for_spans, translation_windows

TS = 1000  # token ids from here on are timestamps in these tests


def test_a_repetition_loop_is_found_and_cut_after_the_last_whole_segment():
    speech = [TS, 5, 6, 7, TS + 50, TS + 60, 8, 9, TS + 100]
    loop = [TS + 110, 11, 12, 13, 11, 12, 13, 11, 12, 13, 11, 12]
    assert loop_start(speech) is None and cut_before_loop(speech, lambda t: t >= TS) == speech
    assert loop_start(speech + loop) == len(speech) + 4  # the first copy is speech too
    assert cut_before_loop(speech + loop, lambda t: t >= TS) == speech


def test_a_loop_in_the_first_segment_leaves_nothing():
    assert cut_before_loop([TS, 4, 4, 4, 4, 4], lambda t: t >= TS) == []


def test_repetitive_text_compresses_far_more_than_speech():
    story = "Once upon a time, a little fox lived in a green forest by the river."
    assert compression_ratio(story) < 2.4 < compression_ratio("LEM-LIM-" + "LIM-" * 60)


def test_the_token_budget_grows_with_the_audio_and_stays_in_whisper_s_context():
    assert token_budget(1.0, 24) < token_budget(8.0, 24) < token_budget(30.0, 24)
    assert token_budget(8.0, 24) >= 8 * 15  # fast speech in a dense script still fits
    assert token_budget(600.0, 24) == token_budget(30.0, 24) <= MAX_TOKENS - 5


def test_sentences_are_grouped_into_windows_of_at_most_30_seconds():
    spans = [(0, 8), (8.5, 17), (17.2, 29.5), (30, 41), (41, 80), (81, 85)]
    assert translation_windows(spans) == [range(0, 3), range(3, 4), range(4, 5), range(5, 6)]
    assert translation_windows([]) == []


def test_each_english_segment_goes_to_the_sentence_it_was_spoken_in():
    spans = [(0.0, 2.0), (2.4, 4.0), (4.5, 7.0)]
    segments = [(0.0, 2.1, " The little dog plays."), (2.1, 4.2, " The cat drinks milk."),
                (4.2, 7.0, " The children read.")]  # fmt: skip
    assert assign_to_spans(segments, spans) == [
        "The little dog plays.",
        "The cat drinks milk.",
        "The children read.",
    ]


def test_one_english_segment_over_two_sentences_is_not_lost():
    spans = [(0.0, 2.0), (2.2, 4.0)]
    both = assign_to_spans([(0.0, 4.0, " A dog and a cat.")], spans)
    assert both == ["A dog and a cat.", "A dog and a cat."]
    assert assign_to_spans([], spans) == ["", ""]


class WindowEngine:
    """Stands in for Whisper's translate: one English segment per second of the clip it gets."""

    def __init__(self):
        self.calls = []

    def translate(self, audio, language):
        self.calls.append(len(audio) / 16000)
        seconds = int(len(audio) / 16000)
        return [Segment(i, i, i + 1.0, f" s{i}") for i in range(seconds)]


def test_each_window_is_translated_once_and_shifted_to_the_recording_s_time():
    engine = WindowEngine()
    spans = [(0.0, 10.0), (10.0, 20.0), (25.0, 35.0), (36.0, 40.0)]
    lines = english_for_spans(engine, np.zeros(16000 * 41, np.float32), spans, "de")
    english = [line.text for line in lines]
    assert len(engine.calls) == 2  # [0, 20] and [25, 40]: two windows, four sentences
    assert english[0].split()[0] == "s0" and english[2].split()[0] == "s0"
    assert len(english[1].split()) == 10 and english[3]
