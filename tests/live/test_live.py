"""Stories told live, below the browser: sentences as the audio streams, what a teacher's story
keeps through drops and crashes, and what hearing it again at the end changes (and does not).

The browser test (tests/e2e/test_live.py) plays a story through Chromium's microphone; here the
audio is fed straight in, as fast as the machine takes it, and every check waits for an
observable state (a frame saved, the story finished) with a generous hang guard."""

from __future__ import annotations

import dataclasses
import struct

import numpy as np
import pytest

from s2i_core.audio import decode_audio
from s2i_core.live import LiveState, hear_again, live_stories_to_recover
from s2i_core.live.heard_again import DONE, LISTENING, compare
from s2i_core.live.listener import LiveListener
from s2i_core.live.recording import LiveRecording, repair, to_pcm, wav_header
from s2i_core.live.segmenter import Cut
from s2i_core.live.session import start_live_story
from s2i_core.settings import Settings
from s2i_core.speech import DecodingOptions, Segment, TranscriptionInfo, Word
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.drafts import StoryOptions, frame_draft
from s2i_core.story.sentences import Sentence
from tests.waiting import wait_for

FINISH_GUARD_S = 600  # a hang guard for a live story's end on a loaded machine, not a measurement


def words(text: str, start: float, step: float = 0.3) -> tuple[Word, ...]:
    return tuple(
        Word(start + i * step, start + i * step + step * 0.8, f" {w}", 0.9)
        for i, w in enumerate(text.split())
    )


def segment(text: str, start: float) -> Segment:
    spoken = words(text, start)
    return Segment(0, start, spoken[-1].end, f" {text}", spoken)


class ScriptedEngine:
    """Hears what the test wrote for each call, in order; notes the prompts it was given."""

    name, model, device, compute_type = "scripted", "test", "cpu", "none"

    def __init__(self, *answers: list[Segment], language: str = "en"):
        self.options = DecodingOptions()
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.language = language

    def transcribe(self, audio, language=None, task="transcribe", prompt=""):
        self.prompts.append(prompt)
        info = TranscriptionInfo(self.language, 0.9, len(audio) / 16000, *"ssss")
        return iter(self.answers.pop(0) if self.answers else []), info


def listener_of(engine, context_s: float = 0.0, asked: list | None = None) -> LiveListener:
    """A listener on silence; ``context_s`` 0: each cut heard alone (the default hears the last
    sentences again first); ``asked`` notes each stretch of the recording it read."""

    def audio(start: float, end: float) -> np.ndarray:
        if asked is not None:
            asked.append((round(start, 3), round(end, 3)))
        return np.zeros(int((end - start) * 16000), "f4")

    return LiveListener(engine, audio, context_s=context_s)


# --- the listener ----------------------------------------------------------------------------
def test_a_pause_inside_a_sentence_waits_for_the_rest_of_it():
    engine = ScriptedEngine(
        [segment("Once upon a time", 0.0)],  # a breath: no full stop yet
        [segment("Once upon a time, a fox lived in a wood.", 0.0)],  # heard again, with the rest
    )
    listener = listener_of(engine)
    assert listener.hear(Cut(0.0, 1.5, "short")) is None
    heard = listener.hear(Cut(1.8, 4.0, "short"))
    assert [s.text for s in heard.sentences] == ["Once upon a time, a fox lived in a wood."]
    assert heard.sentences[0].index == 0


def test_a_long_pause_keeps_what_was_heard_without_hearing_it_again():
    engine = ScriptedEngine([segment("and then the fox slept", 0.0)])
    listener = listener_of(engine)
    assert listener.hear(Cut(0.0, 2.0, "short")) is None
    heard = listener.hear(Cut(0.0, 2.0, "long"))
    assert [s.text for s in heard.sentences] == ["and then the fox slept"]
    assert len(engine.prompts) == 1  # the same audio is not transcribed twice


def test_each_sentence_is_heard_with_the_story_so_far_as_its_prompt():
    engine = ScriptedEngine(
        [segment("Mia found a map.", 0.0)],
        [segment("The map showed a tree.", 0.0)],
    )
    listener = listener_of(engine)
    listener.hear(Cut(0.0, 2.0, "short"))
    heard = listener.hear(Cut(2.2, 4.0, "short"))
    assert engine.prompts == ["", "Mia found a map."]
    assert heard.sentences[0].index == 1 and heard.sentences[0].start == pytest.approx(2.2)


def test_noise_that_whisper_hears_nothing_in_is_dropped():
    engine = ScriptedEngine([], [segment("The fox ran.", 0.0)])
    listener = listener_of(engine)
    assert listener.hear(Cut(0.0, 1.0, "short")) is None  # a door: Whisper hears no words
    assert listener.hear(Cut(0.0, 1.0, "long")) is None  # and the pause grew long
    heard = listener.hear(Cut(3.0, 5.0, "short"))
    assert heard.sentences[0].start == pytest.approx(3.0)  # the noise is not prepended
    assert len(engine.prompts) == 2


def test_dots_and_unsure_words_in_the_trailing_silence_are_left_out():
    spoken = words("The wind was strong.", 0.0)
    guess = Word(1.5, 1.7, " Bye.", 0.2)
    engine = ScriptedEngine(
        [Segment(0, 0.0, 1.7, " The wind was strong. Bye.", (*spoken, guess))],
        [Segment(0, 0.0, 1.2, " He sang. .", (*words("He sang.", 0.0), Word(1.0, 1.1, " .", 0.9)))],
    )
    listener = listener_of(engine)
    assert [s.text for s in listener.hear(Cut(0.0, 2.0, "short")).sentences] == [
        "The wind was strong."
    ]
    assert [s.text for s in listener.hear(Cut(2.5, 4.0, "short")).sentences] == ["He sang."]


def test_a_listener_behind_the_speaker_hears_waiting_cuts_in_one_pass():
    engine = ScriptedEngine([segment("Mia found a map. The map showed a tree.", 0.0)])
    listener = listener_of(engine)
    assert listener.hear(Cut(0.0, 2.0, "short"), transcribe=False) is None
    heard = listener.hear(Cut(2.3, 4.0, "short"))
    assert [s.text for s in heard.sentences] == ["Mia found a map.", "The map showed a tree."]
    assert len(engine.prompts) == 1


def test_a_sentence_is_heard_after_the_one_just_kept_and_only_its_new_words_are_kept():
    """Whisper hears a sentence's first words in the flow of speech (live WER 0.128 -> 0.041 on
    the benchmark story): the clip starts with the sentence kept before, whose words are left
    out by their times, even inside one segment."""
    both = (*words("Mia found a map.", 0.0), *words("The map showed a tree.", 2.3))
    engine = ScriptedEngine(
        [segment("Mia found a map.", 0.0)],
        [Segment(0, 0.0, 3.5, " Mia found a map. The map showed a tree.", both)],
    )
    asked: list = []
    listener = listener_of(engine, context_s=12.0, asked=asked)
    listener.hear(Cut(0.0, 1.5, "short"))
    heard = listener.hear(Cut(2.2, 4.0, "short"))
    assert [s.text for s in heard.sentences] == ["The map showed a tree."]
    assert heard.sentences[0].start == pytest.approx(2.3) and heard.sentences[0].index == 1
    assert heard.sentences[0].words[0].word == " The"
    assert asked == [(0.0, 1.5), (0.0, 4.0)]  # the first sentence heard again, from its start
    assert engine.prompts == ["", ""]  # it is in the audio, not in the prompt


def test_the_sentences_heard_again_are_the_last_seconds_and_fit_whisper_s_window():
    """Sentences begun more than context_s before the new speech go to the prompt instead; none
    is heard again when the clip would grow past Whisper's 30 s window."""
    engine = ScriptedEngine(
        [segment("Mia found a map.", 0.0)],
        [segment("Mia found a map.", 0.0), segment("The map showed a tree.", 10.0)],
        [segment("The map showed a tree.", 0.1), segment("She ran home.", 10.1)],
        [segment("Then she slept.", 0.0)],
    )
    asked: list = []
    listener = listener_of(engine, context_s=12.0, asked=asked)
    texts = [
        [s.text for s in listener.hear(cut).sentences]
        for cut in (
            Cut(0.0, 3.0, "short"),
            Cut(10.0, 13.0, "short"),
            Cut(20.0, 23.0, "short"),
            Cut(25.0, 50.0, "short"),  # 25 s of new speech: no room for the last sentence
        )
    ]
    assert texts == [["Mia found a map."], ["The map showed a tree."], ["She ran home."],
                     ["Then she slept."]]  # fmt: skip
    assert asked == [(0.0, 3.0), (0.0, 13.0), (9.9, 23.0), (25.0, 50.0)]
    assert engine.prompts == [
        "",
        "",
        "Mia found a map.",
        "Mia found a map. The map showed a tree. She ran home.",
    ]
    assert [s.start for s in listener.sentences] == pytest.approx([0.0, 10.0, 20.0, 25.0])


# --- hearing it again at the end -----------------------------------------------------------------
def saved_frames(library: Library, texts: list[tuple[str, float, float]]):
    story = library.create_story(title="Heard again", language="en")
    drafts = [FrameDraft(i, a, b, t, t, prompt=t) for i, (t, a, b) in enumerate(texts)]
    return story, library.set_frames(story.id, drafts)


def test_hearing_again_retimes_the_same_sentences_and_suggests_the_changed_ones(tmp_path):
    library = Library(Settings(data_dir=tmp_path))
    _, frames = saved_frames(
        library,
        [("Mia found a map.", 0.0, 1.3), ("The map showed a tee.", 1.6, 3.0)],
    )
    whole = [segment("Mia found a map.", 0.1), segment("The map showed a tree.", 1.7)]
    result = compare(frames, whole, "en")
    assert [(r[0], r[1]) for r in result.retimed] == [(frames[0].id, pytest.approx(0.1))]
    [suggestion] = result.suggestions
    assert suggestion.frame_id == frames[1].id and suggestion.text == "The map showed a tree."
    assert result.tail == []


def test_words_never_heard_live_become_new_sentences(tmp_path):
    library = Library(Settings(data_dir=tmp_path))
    _, frames = saved_frames(library, [("Mia found a map.", 0.0, 1.3)])
    whole = [segment("Mia found a map.", 0.0), segment("Then she ran home to read it.", 3.0)]
    result = compare(frames, whole, "en")
    assert [s.text for s in result.tail] == ["Then she ran home to read it."]
    assert result.tail[0].index == 1 and not result.suggestions


# --- the recording on disk ---------------------------------------------------------------------
def test_the_recording_is_readable_while_it_grows_and_after_a_crash(tmp_path):
    tone = (0.3 * np.sin(np.arange(32000) / 5)).astype("f4")
    recording = LiveRecording(tmp_path / "narration.wav")
    recording.append(to_pcm(tone[:16000]))
    recording.append(to_pcm(tone[16000:]))
    # while it grows (or after a crash): FFmpeg reads it to its end
    growing = decode_audio(tmp_path / "narration.wav", Settings())
    assert growing.duration == pytest.approx(2.0, abs=0.01)
    assert repair(tmp_path / "narration.wav") == pytest.approx(2.0)
    data = (tmp_path / "narration.wav").read_bytes()
    assert struct.unpack("<I", data[40:44])[0] == 64000 and data[:44] == wav_header(64000)
    assert np.allclose(recording.samples(0.5, 1.0), tone[8000:16000], atol=1e-3)


def test_audio_resent_after_a_drop_is_kept_once_and_a_gap_as_silence(tmp_path):
    settings = Settings(data_dir=tmp_path, image_backend="none", llm="off")
    library = Library(settings)
    live = start_live_story(library, settings, StoryOptions(title="Drop"), ScriptedEngine(), None)
    pcm = to_pcm(np.full(1600, 0.1, "f4"))
    assert live.hear_at(0, pcm) == 1600
    assert live.hear_at(800, pcm) == 2400  # the first half was kept before the drop
    assert live.hear_at(4000, pcm) == 5600  # 1600 samples never came: silence keeps the times
    live.stop()
    assert live.finished.wait(FINISH_GUARD_S)
    story = library.get_story(live.story_id)
    assert story.duration == pytest.approx(5600 / 16000)
    assert not story.sentences_missing


# --- a whole story, with the real Whisper --------------------------------------------------------
def test_a_story_told_live_is_saved_sentence_by_sentence_and_heard_again(
    tmp_path, speech_engine, fixtures_dir
):
    settings = Settings(data_dir=tmp_path, image_backend="none", llm="off")
    library = Library(settings)
    options = StoryOptions(title="The fox", blocklist=("stone",))
    live = start_live_story(library, settings, options, speech_engine, None, "en")
    audio = decode_audio(fixtures_dir / "en_story.wav", settings).samples
    for start in range(0, len(audio), 1600):
        live.hear_at(start, to_pcm(audio[start : start + 1600]))
    # heard while the story is still being told, before stop
    wait_for(lambda: live.events.of_kind("sentence"), "a sentence heard live", FINISH_GUARD_S)
    live.stop()
    assert live.finished.wait(FINISH_GUARD_S)
    story = library.get_story(live.story_id)
    texts = [f.text for f in story.frames]
    assert len(texts) >= 3, texts  # the rest heard live, or by the pass after stop
    assert "fox" in texts[0].lower() and "mother" in texts[-1].lower()
    assert not story.sentences_missing and story.duration == pytest.approx(14.1, abs=0.2)
    statuses = {f.text: (f.status, f.error) for f in story.frames}
    stone = next(text for text in texts if "stone" in text.lower())
    assert statuses[stone][0] == "filtered" and "word list" in statuses[stone][1]  # never sent
    assert all(s == "no_backend" for t, (s, _) in statuses.items() if t != stone)
    assert LiveState.read(library, story.id).state == DONE
    assert story.frames == sorted(story.frames, key=lambda f: f.start)


def test_a_crash_mid_story_keeps_everything_heard_and_finishes_it(
    tmp_path, speech_engine, fixtures_dir
):
    """The app died 8 s into the story: one sentence was a frame, the narration file has 8 s
    under a still-growing header. The next start finds it and hears it again whole."""
    settings = Settings(data_dir=tmp_path, image_backend="none", llm="off")
    library = Library(settings)
    audio = decode_audio(fixtures_dir / "en_story.wav", settings).samples[: 8 * 16000]
    story = library.create_story(
        title="Crashed", language="en", narration=b"", narration_ext="wav", sentences_missing=True
    )
    path = library.path(story.narration_path)
    path.write_bytes(wav_header(None) + to_pcm(audio))
    LiveState(LISTENING).write(library, story.id)
    first = Sentence(0, 0.0, 3.4, "Once upon a time, a little fox lived in a green forest.", "")
    library.add_frame(
        story.id, frame_draft(dataclasses.replace(first, text_en=first.text), 0, story)
    )

    assert live_stories_to_recover(library) == [story.id]
    state = hear_again(library, settings, story.id, speech_engine)
    story = library.get_story(story.id)
    assert state.state == DONE and live_stories_to_recover(library) == []
    assert not story.sentences_missing and story.duration == pytest.approx(8.0, abs=0.05)
    assert len(story.frames) >= 2 and "river" in " ".join(f.text for f in story.frames[1:])
    assert story.frames[0].words or state.suggestions  # re-timed, or a suggestion to take
