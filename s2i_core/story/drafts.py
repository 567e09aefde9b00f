"""A new story in the library: its details, its picture settings and its narration saved before
anything else happens, then one frame per sentence as the sentences come."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..audio import DecodedAudio, decode_audio, narration_for_replay
from ..pictures import ImageParams
from ..settings import Settings
from ..speech import Word, normalize_language
from ..storage import FrameDraft, FrameRecord, Library, StoryRecord
from .bible import notes_bible
from .narration import Narration, read_source
from .picture_settings import default_params
from .prompts import DEFAULT_BLOCKLIST, DEFAULT_STYLE, build_prompt
from .sentences import Sentence


@dataclass(frozen=True)
class StoryOptions:
    """What the teacher chose for a new story, on the Create page or the command line."""

    title: str
    class_name: str = ""
    style: str = DEFAULT_STYLE  # a name of prompts.STYLES
    characters: str = ""  # the teacher's notes on characters and setting, for every frame
    image_params: ImageParams | None = None  # None: the configured model's defaults
    blocklist: tuple[str, ...] = DEFAULT_BLOCKLIST  # the classroom word list for this story
    owner: str = ""  # the signed-in teacher who makes it ("" the classroom's own teacher)


@dataclass(frozen=True)
class Recording:
    """A narration checked and ready to keep: how long it is, and the bytes stored for replay."""

    duration: float
    data: bytes = field(repr=False)
    ext: str
    # what was heard, for a transcription in this process; None for a live story (still to come)
    decoded: DecodedAudio | None = field(default=None, repr=False)


def check_recording(source: bytes | str | Path, settings: Settings) -> Recording:
    """Bad audio is refused here (its size and length before it is read whole), before anything
    is saved or loaded."""
    decoded = decode_audio(source, settings)
    replay_bytes, replay_ext, _mime = narration_for_replay(read_source(source), decoded)
    return Recording(decoded.duration, replay_bytes, replay_ext, decoded)


def start_story(
    library: Library,
    settings: Settings,
    source: bytes | str | Path | Recording,
    options: StoryOptions,
    language: str | None = None,
) -> StoryRecord:
    """Save the narration as a new story whose sentences are still missing, for a transcription
    job: bad audio is refused at once, before anything is queued."""
    recording = source if isinstance(source, Recording) else check_recording(source, settings)
    return _new_story(
        library,
        settings,
        options,
        language=normalize_language(language) or "",
        duration=recording.duration,
        narration=(recording.data, recording.ext),
        sentences_missing=True,
    )


def save_draft(
    library: Library,
    settings: Settings,
    options: StoryOptions,
    narration: Narration,
    sentences: list[Sentence] | None = None,
) -> StoryRecord:
    """Save the story, its narration and one pending frame per sentence, all at once."""
    sentences = narration.sentences if sentences is None else sentences
    story = _new_story(
        library,
        settings,
        options,
        language=narration.language,
        duration=narration.decoded.duration,
        narration=(narration.replay_bytes, narration.replay_ext),
        transcript=" ".join(s.text for s in sentences),
    )
    library.set_frames(story.id, frame_drafts(sentences, story))
    return library.get_story(story.id)


def _new_story(
    library: Library,
    settings: Settings,
    options: StoryOptions,
    language: str,
    duration: float,
    narration: tuple[bytes, str],
    transcript: str = "",
    sentences_missing: bool = False,
) -> StoryRecord:
    # a value the model does not take fails here, before anything is saved
    params = default_params(settings, options.image_params)
    return library.create_story(
        title=options.title.strip() or "Untitled story",
        class_name=options.class_name.strip(),
        language=language,
        duration=duration,
        transcript=transcript,
        style=options.style,
        characters=options.characters,
        image_model=params.model,
        image_params=params.record(),
        seed=params.seed,
        word_list=options.blocklist,
        narration=narration[0],
        narration_ext=narration[1],
        sentences_missing=sentences_missing,
        owner=options.owner,
    )


def frame_drafts(sentences: Iterable[Sentence], story: StoryRecord) -> list[FrameDraft]:
    return [frame_draft(s, i, story) for i, s in enumerate(sentences)]


def frame_draft(sentence: Sentence, index: int, story: StoryRecord) -> FrameDraft:
    """A frame before the scene writer ran (``scene_source`` empty): until it has, the scene is
    the English line, as on the offline path. A sentence in another language without a trusted
    English line has no scene and no prompt: nothing is drawn from it until the scene writer or
    the teacher gives it one."""
    english = sentence.text_en or (sentence.text if english_story(story) else "")
    bible = notes_bible(story.characters)
    return FrameDraft(
        index=index,
        start=sentence.start,
        end=sentence.end,
        text=sentence.text,
        text_en=sentence.text_en,
        prompt=build_prompt(english, story.style, bible, story.image_model) if english else "",
        words=tuple((w.start, w.end, w.word) for w in sentence.words),
        scene=english,
    )


def sentence_of(frame: FrameRecord) -> Sentence:
    """A saved frame as the sentence it was made from (a reloaded draft edits these), tied to its
    frame so that a save changes that frame and no other."""
    words = tuple(Word(start, end, word, 1.0) for start, end, word in frame.words)
    return Sentence(frame.index, frame.start, frame.end, frame.text, frame.text_en, words, frame.id)


def english_story(story: StoryRecord) -> bool:
    """Told in English (or not heard yet): its sentences are their own English lines."""
    return (story.language or "en").lower().startswith("en")
