"""Whisper's English lines are checked before a picture is drawn from them or they are printed:
the phrases it invents on unclear audio, a sentence said twice, a line the speech could not hold,
a translation it was guessing."""

from __future__ import annotations

import numpy as np
import pytest

from s2i_core.audio import DecodedAudio
from s2i_core.speech import Segment
from s2i_core.speech.english_lines import check_line, known_phrases
from s2i_core.speech.translation import english_for_spans, split_over_spans
from s2i_core.story.sentences import Sentence, add_english

INVENTED = [  # the lines issue 18 saw printed and drawn, and their kin
    ("Thank you so much for watching and see you next time!", 4.0),
    ("And if you want to see more videos like this, subscribe.", 5.0),
    ("I will not let you go. I will not let you go. I will not let you go.", 5.0),
    ("I am very happy I am very happy", 3.0),
    ("In the next video, I will show you how to make a new video.", 6.0),
    ("Subtitles by the Amara.org community", 3.0),
]
FAITHFUL = [
    ("The little cat sleeps on the bed.", 2.0),
    ("The dog ate a red apple, then the cat went to sleep in the house.", 8.0),
    ("No!", 0.6),
    ("Yes, Mum, I am coming home right now!", 1.5),
]


@pytest.mark.parametrize(("text", "seconds"), INVENTED)
def test_invented_lines_are_left_out_with_a_reason(text, seconds):
    line = check_line(text, seconds, avg_logprob=-0.4)
    assert not line.usable and line.problem
    assert line.text == text  # kept for the record, never used


@pytest.mark.parametrize(("text", "seconds"), FAITHFUL)
def test_faithful_lines_pass(text, seconds):
    assert check_line(text, seconds, avg_logprob=-0.9).usable


def test_a_line_longer_than_its_speech_or_far_shorter_is_left_out():
    long = "The fox ran to the river and drank the cold water and then he ran home again fast"
    assert "far longer" in check_line(long, 1.5).problem
    assert "far shorter" in check_line("Yes.", 10.0).problem
    assert check_line("The fox ran home.", 2.0).usable


def test_a_guessed_translation_or_one_that_repeats_itself_is_left_out():
    assert "guessing" in check_line("The evening twinked the cats.", 3.0, -1.95).problem
    loop = "la la la la la la la la la la la la la la la la la la la la la la la la"
    assert not check_line(loop, 12.0).usable


def test_phrases_match_whole_words_whatever_the_case_accents_and_punctuation():
    assert "thanks for watching" in known_phrases()
    assert not check_line("THANKS, for WATCHING!!", 2.0).usable
    assert check_line("The ants formed a watching circle.", 3.0).usable  # no whole phrase


class HallucinatingEngine:
    """Whisper's translate on speech it cannot follow: one invented English segment a window."""

    def translate(self, audio, language):
        seconds = len(audio) / 16000
        return [
            Segment(0, 0.0, seconds / 2, " The boy went to the market.", avg_logprob=-0.5),
            Segment(1, seconds / 2, seconds, " Thanks for watching!", avg_logprob=-0.5),
        ]


def test_a_sentence_whose_english_fails_the_checks_has_no_english_line():
    audio = DecodedAudio(np.zeros(16000 * 6, np.float32), 6.0, "wav")
    sentences = [
        Sentence(0, 0.0, 2.8, "एक छोटा लड़का बाज़ार गया।", "एक छोटा लड़का बाज़ार गया।"),
        Sentence(1, 3.2, 6.0, "फिर वह घर वापस आया।", "फिर वह घर वापस आया।"),
    ]
    first, second = add_english(sentences, audio, HallucinatingEngine(), "hi")
    assert first.text_en == "The boy went to the market." and not first.english_problem
    assert second.text_en == "" and "thanks for watching" in second.english_problem
    lines = english_for_spans(HallucinatingEngine(), audio.samples, [(0.0, 2.8), (3.2, 6.0)], "hi")
    assert [line.usable for line in lines] == [True, False]


def test_one_english_line_over_a_run_on_cut_into_sentences_is_cut_with_it():
    """The Spanish fixture is one run-on, cut at its paused commas into three sentences, but
    Whisper translates it as one line: each sentence gets its own part of the line."""
    line = Segment(0, 0.0, 8.0, " The dog ate a red apple, then the cat slept in the house, "
                   "the children played in the park with a ball.", avg_logprob=-0.8)  # fmt: skip
    spans = [(0.0, 2.0), (2.4, 4.8), (5.3, 8.0)]
    parts = split_over_spans(line, spans)
    assert [p.text.strip() for p in parts] == [
        "The dog ate a red apple,",
        "then the cat slept in the house,",
        "the children played in the park with a ball.",
    ]
    assert [p.avg_logprob for p in parts] == [-0.8] * 3
    lines = english_for_spans(OneLineEngine(line), np.zeros(16000 * 8, np.float32), spans, "es")
    assert [x.text for x in lines] == [p.text.strip() for p in parts] and all(
        x.usable for x in lines
    )
    unpunctuated = Segment(
        0, 0.0, 8.0, " The dog ate a red apple and the cat slept", avg_logprob=-0.8
    )
    assert split_over_spans(unpunctuated, spans) == [unpunctuated]  # shared: measured over 8 s
    shared = english_for_spans(OneLineEngine(unpunctuated), np.zeros(16000 * 8), spans, "es")
    assert all(x.usable and x.text.startswith("The dog") for x in shared)


class OneLineEngine:
    def __init__(self, segment: Segment):
        self.segment = segment

    def translate(self, audio, language):
        return [self.segment]
