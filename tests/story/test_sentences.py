"""Cutting timed words into storyboard sentences (no model needed: words are made by hand)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from s2i_core.speech import Segment, Word
from s2i_core.story.sentences import (
    Sentence,
    SentenceStream,
    cap_sentences,
    split_sentences,
    stream_sentences,
)


def spoken(text: str, pause_after: dict[int, float] | None = None, spaced: bool = True) -> Segment:
    """One segment whose words last 0.3 s with 0.1 s between them (longer where asked)."""
    tokens = text.split() if spaced else list(text)
    pause_after = pause_after or {}
    words, clock = [], 0.0
    for i, token in enumerate(tokens):
        words.append(Word(clock, clock + 0.3, f" {token}" if spaced else token, 0.9))
        clock += 0.3 + pause_after.get(i, 0.1)
    return Segment(0, words[0].start, words[-1].end, "".join(w.word for w in words), tuple(words))


def texts(sentences: list[Sentence]) -> list[str]:
    return [s.text for s in sentences]


def test_sentences_end_at_full_stops_questions_and_exclamations():
    segment = spoken("The fox ran home. Was she tired? Yes, she was very tired! She slept all day.")
    sentences = split_sentences([segment], "en")
    assert texts(sentences) == [
        "The fox ran home.",
        "Was she tired?",
        "Yes, she was very tired!",
        "She slept all day.",
    ]
    assert [s.index for s in sentences] == [0, 1, 2, 3]
    words = segment.words
    assert (sentences[0].start, sentences[0].end) == (words[0].start, words[3].end)
    assert (sentences[1].start, sentences[1].end) == (words[4].start, words[6].end)
    assert all(s.text_en == s.text for s in sentences)


def test_abbreviations_and_decimals_do_not_end_a_sentence():
    segment = spoken("Mr. Smith paid 3.50 dollars for the U.S. map. Dr. Jones was very happy.")
    assert texts(split_sentences([segment], "en")) == [
        "Mr. Smith paid 3.50 dollars for the U.S. map.",
        "Dr. Jones was very happy.",
    ]


def test_punctuation_of_other_scripts_ends_sentences():
    hindi = spoken("एक छोटा लड़का बाज़ार गया। उसने लाल सेब खरीदे। फिर वह घर वापस आया।")
    assert texts(split_sentences([hindi], "hi")) == [
        "एक छोटा लड़का बाज़ार गया।",
        "उसने लाल सेब खरीदे।",
        "फिर वह घर वापस आया।",
    ]
    chinese = spoken("小狐狸在森林里住着。它每天早上去河边喝水！你见过它吗？", spaced=False)
    assert texts(split_sentences([chinese], "zh", min_chars=4)) == [
        "小狐狸在森林里住着。",
        "它每天早上去河边喝水！",
        "你见过它吗？",
    ]
    arabic = spoken("هل رأيت الثعلب الصغير؟ نعم، كان يلعب قرب النهر.")
    assert texts(split_sentences([arabic], "ar")) == [
        "هل رأيت الثعلب الصغير؟",
        "نعم، كان يلعب قرب النهر.",
    ]


def test_languages_pysbd_does_not_know_use_the_punctuation_rule():
    # Swahili: no pysbd rules, so the plain rule decides; an initial ("J.") is not an ending.
    swahili = spoken(
        "J. Mwangi alienda sokoni… Alinunua ndizi nyingi sana! Kisha akarudi nyumbani."
    )
    assert texts(split_sentences([swahili], "sw")) == [
        "J. Mwangi alienda sokoni…",
        "Alinunua ndizi nyingi sana!",
        "Kisha akarudi nyumbani.",
    ]
    quoted = spoken('The teacher said "Stop running!" Then everybody sat down quietly.')
    assert texts(split_sentences([quoted], "sw")) == [
        'The teacher said "Stop running!"',
        "Then everybody sat down quietly.",
    ]


def test_a_run_on_is_cut_at_its_longest_pause():
    words = " ".join(f"word{i}" for i in range(30))  # 30 x 6-7 characters, no punctuation
    segment = spoken(words, pause_after={9: 0.9, 19: 0.6})
    sentences = split_sentences([segment], "en", max_chars=100)
    assert texts(sentences) == [
        " ".join(f"word{i}" for i in range(10)),
        " ".join(f"word{i}" for i in range(10, 20)),
        " ".join(f"word{i}" for i in range(20, 30)),
    ]
    assert all(len(s.text) <= 100 for s in sentences)


def test_a_long_silence_ends_a_sentence_whisper_left_unpunctuated():
    # Flat narration, as Whisper sometimes writes it: no marks, but the teller paused after
    # "balloon" (0.9 s) and took a breath after "fox" (0.4 s), as inside a sentence.
    told = "the little fox found a blue balloon the balloon carried the fox over the river"
    segment = spoken(told, pause_after={3: 0.4, 6: 0.9})
    assert texts(split_sentences([segment], "en")) == [
        "the little fox found a blue balloon",
        "the balloon carried the fox over the river",
    ]


def test_tiny_fragments_join_a_neighbour():
    middle = spoken("Was he afraid of the storm? No. He sang a happy song.")
    assert texts(split_sentences([middle], "en")) == [
        "Was he afraid of the storm? No.",
        "He sang a happy song.",
    ]
    first = spoken("Oh. The dog ran away very quickly.")
    assert texts(split_sentences([first], "en")) == ["Oh. The dog ran away very quickly."]
    last = spoken("The dog ran away very quickly. Bye.")
    assert texts(split_sentences([last], "en")) == ["The dog ran away very quickly. Bye."]


def test_no_more_sentences_than_frames_and_the_shortest_neighbours_join_first():
    story = " ".join(f"Short line {i}." for i in range(29))
    story += " This one sentence is much longer than all of the others together, surely."
    sentences = split_sentences([spoken(story)], "en", max_frames=24)
    assert len(sentences) == 24
    assert [s.index for s in sentences] == list(range(24))
    assert sentences[-1].text.startswith("This one sentence")  # the long one was left alone
    assert " ".join(texts(sentences)) == story
    assert all(a.end <= b.start for a, b in itertools.pairwise(sentences))


def test_segments_without_word_times_still_give_sentences():
    segments = [
        Segment(0, 0.0, 2.5, " The first part of the story.", ()),
        Segment(1, 3.0, 6.0, " And then the second part came.", ()),
    ]
    sentences = split_sentences(segments, "en")
    assert [(s.start, s.end, s.text) for s in sentences] == [
        (0.0, 2.5, "The first part of the story."),
        (3.0, 6.0, "And then the second part came."),
    ]


def test_sentence_times_stay_inside_the_recording():
    segment = spoken("The end came right at the very last moment.")
    sentence = split_sentences([segment], "en", duration=2.0)[0]
    assert 0.0 <= sentence.start < sentence.end <= 2.0


def test_the_stream_gives_a_sentence_before_the_recording_ends():
    parts = [
        spoken("The fox lived in a green forest."),
        spoken("Every morning she ran to the river."),
        spoken("One day she found a blue stone."),
    ]
    pulled = []

    def whisper_like():
        for i, part in enumerate(parts):
            pulled.append(i)
            yield part

    stream = stream_sentences(whisper_like(), "en")
    first = next(stream)
    assert first.text == "The fox lived in a green forest."
    assert pulled == [0, 1]  # known final while the second part was still being spoken
    assert [s.text for s in stream] == [
        "Every morning she ran to the river.",
        "One day she found a blue stone.",
    ]


def test_feeding_by_hand_matches_the_generator():
    segment = spoken("Was he afraid? No. He sang a song. At noon he reached the island.")
    stream = SentenceStream("en")
    by_hand = stream.feed(segment) + stream.finish()
    assert by_hand == list(stream_sentences([segment], "en"))


def test_capping_keeps_english_translations_with_their_text():
    a = Sentence(0, 0.0, 1.0, "Hola.", "Hello.")
    b = Sentence(1, 1.2, 2.0, "Adiós.", "Goodbye.")
    [merged] = cap_sentences([a, b], max_frames=1)
    assert (merged.start, merged.end, merged.text, merged.text_en) == (
        0.0,
        2.0,
        "Hola. Adiós.",
        "Hello. Goodbye.",
    )


# --- properties ------------------------------------------------------------------------------
TOKENS = st.text(
    alphabet=st.sampled_from(list("abcXYZ12.,!?…。।؟\"' ")), min_size=1, max_size=12
).filter(str.strip)


@st.composite
def transcripts(draw: st.DrawFn) -> tuple[list[Segment], str]:
    tokens = draw(st.lists(TOKENS, min_size=1, max_size=80))
    steps = draw(st.lists(st.floats(0.0, 2.0), min_size=len(tokens), max_size=len(tokens)))
    words, clock = [], 0.0
    for token, step in zip(tokens, steps, strict=True):
        words.append(Word(clock, clock + step / 2, " " + token, 0.5))
        clock += step
    cuts = sorted(draw(st.sets(st.integers(1, max(len(words) - 1, 1)), max_size=5)))
    bounds = [0, *cuts, len(words)]
    segments = [
        Segment(i, words[a].start, words[b - 1].end, "", tuple(words[a:b]))
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
        if a < b
    ]
    return segments, draw(st.sampled_from(["en", "es", "hi", "zh", "sw"]))


@settings(max_examples=150, deadline=None)
@given(transcripts(), st.integers(40, 200), st.integers(1, 20), st.integers(1, 30))
def test_any_transcript_gives_ordered_sentences_that_cover_every_word(
    transcript, max_chars, min_chars, max_frames
):
    segments, language = transcript
    sentences = split_sentences(segments, language, max_frames, max_chars, min_chars)
    all_words = [w for s in segments for w in s.words]
    assert [w.word for s in sentences for w in s.words] == [w.word for w in all_words]
    assert 1 <= len(sentences) <= max_frames
    assert [s.index for s in sentences] == list(range(len(sentences)))
    assert all(s.start < s.end for s in sentences)
    pairs = list(itertools.pairwise(sentences))
    assert all(a.start <= b.start and a.end <= b.end for a, b in pairs)
    assert sentences[0].start == all_words[0].start


@settings(max_examples=100, deadline=None)
@given(transcripts(), st.integers(40, 200), st.integers(1, 20))
def test_streaming_gives_the_list_and_ignores_how_segments_were_cut(
    transcript, max_chars, min_chars
):
    segments, language = transcript
    streamed = list(stream_sentences(segments, language, max_chars, min_chars))
    assert streamed == split_sentences(segments, language, 10_000, max_chars, min_chars)
    one_segment = [Segment(0, 0.0, 1.0, "", tuple(w for s in segments for w in s.words))]
    assert list(stream_sentences(one_segment, language, max_chars, min_chars)) == streamed
    # Only fragments joined to a neighbour can pass the cap, and never by much.
    assert all(len(s.text) <= max_chars + 2 * min_chars + 2 for s in streamed)
