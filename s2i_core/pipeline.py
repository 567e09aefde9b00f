"""The storyboard pipeline: narration -> timed sentences -> saved draft -> one picture per frame.

Every step persists before the next starts, so a crash or a closed tab loses at most the frames
that were in flight.
"""

from __future__ import annotations

import dataclasses
import queue
import random
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .audio import DecodedAudio, decode_audio, narration_for_replay
from .errors import ContentFilteredError, ImageAPIError, NoSpeechError
from .images import placeholder_card, thumbnail
from .nvidia import GeneratedImage, ImageParams, NvidiaImageClient, get_image_model
from .prompts import (
    DEFAULT_BLOCKLIST,
    DEFAULT_STYLE,
    NEGATIVE_PROMPT,
    blocked_reason,
    build_prompt,
)
from .sentences import Sentence, add_english, cap_sentences, split_sentences, stream_sentences
from .settings import Settings
from .storage import FrameDraft, FrameRecord, Library, StoryRecord
from .transcribe import (
    NO_WORDS_HEARD,
    SpeechEngine,
    Transcription,
    load_engine,
    normalize_language,
    transcribe,
)


@dataclass
class Narration:
    """What the teacher said, decoded, transcribed and cut into sentences."""

    decoded: DecodedAudio
    transcription: Transcription
    sentences: list[Sentence]
    replay_bytes: bytes
    replay_ext: str

    @property
    def language(self) -> str:
        return self.transcription.info.language


@dataclass(frozen=True)
class StoryOptions:
    title: str
    class_name: str = ""
    style: str = DEFAULT_STYLE
    characters: str = ""
    image_params: ImageParams | None = None  # None: the configured model's defaults
    blocklist: tuple[str, ...] = DEFAULT_BLOCKLIST


def read_source(source: bytes | str | Path) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def transcribe_narration(
    source: bytes | str | Path,
    settings: Settings,
    engine: SpeechEngine | None = None,
    language: str | None = None,
) -> Narration:
    decoded = decode_audio(source, settings)  # checks size and length before reading it all
    engine = engine or load_engine(settings)
    transcription = transcribe(decoded, settings, language=language, engine=engine)
    lang = transcription.info.language
    sentences = split_sentences(
        transcription.segments, lang, max_frames=settings.max_frames, duration=decoded.duration
    )
    sentences = add_english(sentences, decoded, engine, lang)
    replay_bytes, replay_ext, _mime = narration_for_replay(read_source(source), decoded)
    return Narration(decoded, transcription, sentences, replay_bytes, replay_ext)


def default_params(settings: Settings, params: ImageParams | None = None) -> ImageParams:
    params = params or ImageParams(model=settings.image_model)
    get_image_model(params.model)  # an unknown model fails here, before anything is saved
    if not params.negative_prompt:
        params = dataclasses.replace(params, negative_prompt=NEGATIVE_PROMPT)
    if not params.seed:
        params = dataclasses.replace(params, seed=random.randint(1, 2**31 - 1))
    return params


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
        options,
        default_params(settings, options.image_params),
        language=narration.language,
        duration=narration.decoded.duration,
        narration=(narration.replay_bytes, narration.replay_ext),
        transcript=" ".join(s.text for s in sentences),
    )
    library.set_frames(story.id, frame_drafts(sentences, options.style, options.characters))
    return library.get_story(story.id)


def _new_story(
    library: Library,
    options: StoryOptions,
    params: ImageParams,
    language: str,
    duration: float,
    narration: tuple[bytes, str],
    transcript: str = "",
) -> StoryRecord:
    return library.create_story(
        title=options.title.strip() or "Untitled story",
        class_name=options.class_name.strip(),
        language=language,
        duration=duration,
        transcript=transcript,
        style=options.style,
        characters=options.characters,
        image_model=params.model,
        image_params=_params_record(params, options.blocklist),
        seed=params.seed,
        narration=narration[0],
        narration_ext=narration[1],
    )


def frame_drafts(sentences: Iterable[Sentence], style: str, characters: str) -> list[FrameDraft]:
    return [frame_draft(s, i, style, characters) for i, s in enumerate(sentences)]


def frame_draft(sentence: Sentence, index: int, style: str, characters: str) -> FrameDraft:
    return FrameDraft(
        index=index,
        start=sentence.start,
        end=sentence.end,
        text=sentence.text,
        text_en=sentence.text_en,
        prompt=build_prompt(sentence.text_en or sentence.text, style, characters),
        words=tuple((w.start, w.end, w.word) for w in sentence.words),
    )


def story_params(story: StoryRecord) -> tuple[ImageParams, tuple[str, ...]]:
    record = dict(story.image_params)
    blocklist = tuple(record.pop("blocklist", DEFAULT_BLOCKLIST))
    known = {f.name for f in dataclasses.fields(ImageParams)}
    params = ImageParams(**{k: v for k, v in record.items() if k in known})
    return params, blocklist


def generate_story(
    library: Library,
    client: NvidiaImageClient | None,
    story_id: int,
    frame_ids: Iterable[int] | None = None,
    reseed: bool = False,
) -> Iterator[FrameRecord]:
    """Make the pictures of a story's unfinished frames (or of ``frame_ids``), yielding each frame
    as soon as it is saved. Frames finish in any order; each is committed on its own."""
    story = library.get_story(story_id)
    wanted = set(frame_ids) if frame_ids is not None else None
    frames = [f for f in story.frames if (f.id in wanted if wanted else f.status != "done")]
    if not frames:
        return
    params, blocklist = story_params(story)
    workers = client.settings.image_concurrency if client else 1
    pool = ThreadPoolExecutor(max(1, workers), "storyboard")
    library.update_story(story_id, status="generating")
    try:
        futures = [
            pool.submit(_draw_one, library, client, frame, _seeded(params, reseed), blocklist)
            for frame in frames
        ]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # pictures in flight are still saved
        library.refresh_story_status(story_id)


def _seeded(params: ImageParams, reseed: bool) -> ImageParams:
    return dataclasses.replace(params, seed=random.randint(1, 2**31 - 1)) if reseed else params


def _save_result(
    library: Library, frame_id: int, result: GeneratedImage | ImageAPIError
) -> FrameRecord:
    if isinstance(result, GeneratedImage):
        return library.save_frame_result(
            frame_id, "done", image=result.data, thumbnail=thumbnail(result.data), seed=result.seed
        )
    status = "filtered" if isinstance(result, ContentFilteredError) else "failed"
    return library.save_frame_result(frame_id, status, error=str(result))


def _save_placeholder(library: Library, frame: FrameRecord) -> FrameRecord:
    card = placeholder_card(frame.text)
    return library.save_frame_result(
        frame.id,
        "no_backend",
        image=card,
        thumbnail=thumbnail(card),
        error="No NVIDIA API key is set, so this frame has no picture yet. "
        "Add NVIDIA_API_KEY and choose 'Generate missing pictures'.",
    )


@dataclass(frozen=True)
class StoryEvent:
    """Progress of a streamed storyboard: a sentence became a frame, or a frame got its picture."""

    kind: str  # "frame_added" | "frame_done" | "transcribed"
    story_id: int
    frame: FrameRecord | None = None


def stream_story(
    library: Library,
    settings: Settings,
    client: NvidiaImageClient | None,
    source: bytes | str | Path,
    options: StoryOptions,
    engine: SpeechEngine | None = None,
    language: str | None = None,
) -> Iterator[StoryEvent]:
    """Narration in, storyboard out, with no waiting between the two: each sentence's picture is
    requested the moment Whisper finishes that sentence, while later audio is still being
    transcribed. Events arrive in the caller's thread (Streamlit draws only from its own)."""
    decoded = decode_audio(source, settings)
    engine = engine or load_engine(settings)
    params = default_params(settings, options.image_params)
    replay_bytes, replay_ext, _mime = narration_for_replay(read_source(source), decoded)
    segments, info = engine.transcribe(decoded.samples, language=normalize_language(language))
    story = _new_story(
        library,
        options,
        params,
        language=info.language,
        duration=decoded.duration,
        narration=(replay_bytes, replay_ext),
    )
    library.update_story(story.id, status="generating")
    events: queue.Queue[StoryEvent | BaseException | None] = queue.Queue()
    drawing = ThreadPoolExecutor(max(1, settings.image_concurrency), "storyboard")

    def draw(frame: FrameRecord) -> None:
        try:
            saved = _draw_one(library, client, frame, params, options.blocklist)
            events.put(StoryEvent("frame_done", story.id, saved))
        except BaseException as error:  # handed to the caller's thread
            events.put(error)

    def transcribe_and_submit() -> None:
        try:
            sentences = _final_sentences(segments, info.language, decoded, settings.max_frames)
            texts = []
            for sentence in sentences:
                sentence = add_english([sentence], decoded, engine, info.language)[0]
                texts.append(sentence.text)
                (draft,) = frame_drafts([sentence], options.style, options.characters)
                frame = library.add_frame(
                    story.id, dataclasses.replace(draft, index=sentence.index)
                )
                events.put(StoryEvent("frame_added", story.id, frame))
                drawing.submit(draw, frame)
            if not texts:
                raise NoSpeechError(NO_WORDS_HEARD)
            library.update_story(story.id, transcript=" ".join(texts))
            events.put(StoryEvent("transcribed", story.id))
        except BaseException as error:  # handed to the caller's thread
            events.put(error)
        finally:
            drawing.shutdown(wait=True)
            events.put(None)

    producer = threading.Thread(target=transcribe_and_submit, name="transcribe", daemon=True)
    producer.start()
    try:
        while (event := events.get()) is not None:
            if isinstance(event, BaseException):
                raise event
            yield event
    finally:
        producer.join()
        library.refresh_story_status(story.id)


def _final_sentences(
    segments: Iterable, language: str, decoded: DecodedAudio, max_frames: int
) -> Iterator[Sentence]:
    """Sentences as they become final; past ``max_frames - 1`` the rest is joined into the last
    frame, which is therefore held back until the narration ends."""
    held: list[Sentence] = []
    for sentence in stream_sentences(segments, language, duration=decoded.duration):
        if sentence.index < max_frames - 1:
            yield sentence
        else:
            held.append(sentence)
    if held:
        yield dataclasses.replace(cap_sentences(held, 1)[0], index=max_frames - 1)


def _draw_one(
    library: Library,
    client: NvidiaImageClient | None,
    frame: FrameRecord,
    params: ImageParams,
    blocklist: tuple[str, ...],
) -> FrameRecord:
    reason = blocked_reason(f"{frame.text} {frame.text_en} {frame.prompt}", blocklist)
    if reason:
        return library.save_frame_result(frame.id, "filtered", error=reason)
    if client is None:
        return _save_placeholder(library, frame)
    try:
        result: GeneratedImage | ImageAPIError = client.generate(frame.prompt, params)
    except ImageAPIError as error:
        result = error
    return _save_result(library, frame.id, result)


def _params_record(params: ImageParams, blocklist: tuple[str, ...]) -> dict:
    record = {k: v for k, v in dataclasses.asdict(params).items() if v not in (None, "")}
    record["blocklist"] = list(blocklist)
    return record
