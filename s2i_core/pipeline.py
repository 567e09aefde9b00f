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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from .audio import DecodedAudio, decode_audio, narration_for_replay
from .errors import ContentFilteredError, ImageAPIError, NoSpeechError, S2IError, StorageError
from .pictures import (
    MAX_SEED,
    GeneratedImage,
    ImageModel,
    ImageParams,
    PictureBackend,
    catalogue,
    fit_params,
    get_model,
)
from .pictures.base import nearest_shape
from .pictures.images import placeholder_card, thumbnail
from .pictures.nvidia import RETIRED_MODELS
from .prompts import (
    DEFAULT_BLOCKLIST,
    DEFAULT_STYLE,
    NEGATIVE_PROMPT,
    blocked_reason,
    build_prompt,
)
from .scenes import OFFLINE, Scenes, notes_bible, offline_reason, warm_up
from .sentences import (
    Sentence,
    add_english,
    cap_sentences,
    split_sentences,
    stream_sentences,
    with_english,
)
from .settings import Settings
from .speech import (
    NO_WORDS_HEARD,
    SpeechEngine,
    Transcription,
    load_engine,
    normalize_language,
    transcribe,
)
from .storage import DEFAULT_LEASE_S, FrameDraft, FrameRecord, Library, StoryRecord, Work
from .story_scenes import write_story_scenes


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
    owner: str = ""  # the signed-in teacher who makes it ("" the classroom's own teacher)


def read_source(source: bytes | str | Path) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def transcribe_narration(
    source: bytes | str | Path,
    settings: Settings,
    engine: SpeechEngine | None = None,
    language: str | None = None,
) -> Narration:
    decoded = decode_audio(source, settings)  # checks size and length before reading it all
    replay_bytes, replay_ext, _mime = narration_for_replay(read_source(source), decoded)
    return _transcribe(decoded, (replay_bytes, replay_ext), settings, engine, language)


def _transcribe(
    decoded: DecodedAudio,
    replay: tuple[bytes, str],
    settings: Settings,
    engine: SpeechEngine | None,
    language: str | None,
) -> Narration:
    engine = engine or load_engine(settings)
    transcription = transcribe(decoded, settings, language=language, engine=engine)
    lang = transcription.info.language
    sentences = split_sentences(
        transcription.segments, lang, max_frames=settings.max_frames, duration=decoded.duration
    )
    sentences = add_english(sentences, decoded, engine, lang)
    return Narration(decoded, transcription, sentences, replay[0], replay[1])


def transcribe_into_draft(
    library: Library,
    settings: Settings,
    options: StoryOptions,
    source: bytes | str | Path,
    engine: SpeechEngine | None = None,
    language: str | None = None,
) -> tuple[StoryRecord, Narration]:
    """The Create page's transcription: the narration is saved (sound only) before Whisper
    starts, so a crash or a closed tab meanwhile loses nothing; the story then shows as
    interrupted and 'Finish this story' completes it. Returns the draft and what was heard."""
    decoded = decode_audio(source, settings)  # refusals come before anything is saved
    replay_bytes, replay_ext, _mime = narration_for_replay(read_source(source), decoded)
    story = _new_story(
        library,
        options,
        default_params(settings, options.image_params),
        language=normalize_language(language) or "",
        duration=decoded.duration,
        narration=(replay_bytes, replay_ext),
        sentences_missing=True,
    )
    try:
        narration = _transcribe(decoded, (replay_bytes, replay_ext), settings, engine, language)
    except S2IError as error:
        if error.user_error:  # nothing was heard: a refused recording is not kept
            library.delete_story(story.id)
        raise
    library.set_frames(story.id, frame_drafts(narration.sentences, story))
    library.update_story(
        story.id,
        language=narration.language,
        transcript=" ".join(s.text for s in narration.sentences),
        sentences_missing=False,
    )
    return library.get_story(story.id), narration


def default_params(settings: Settings, params: ImageParams | None = None) -> ImageParams:
    """``params`` (or the default model's defaults) checked against the model and completed, so a
    value the model does not take fails here, before anything is saved."""
    models = catalogue(settings)
    params = params or ImageParams(model=next(iter(models)))
    if not params.negative_prompt:
        params = dataclasses.replace(params, negative_prompt=NEGATIVE_PROMPT)
    if not params.seed:
        params = dataclasses.replace(params, seed=random.randint(1, 2**31 - 1))
    return params.resolved(get_model(models, params.model))


def start_story(
    library: Library,
    settings: Settings,
    source: bytes | str | Path,
    options: StoryOptions,
    language: str | None = None,
) -> StoryRecord:
    """Check and save the narration as a new story whose sentences are still missing, for a
    transcription job: bad audio is refused here, at once, before anything is queued."""
    decoded = decode_audio(source, settings)
    replay_bytes, replay_ext, _mime = narration_for_replay(read_source(source), decoded)
    return _new_story(
        library,
        options,
        default_params(settings, options.image_params),
        language=normalize_language(language) or "",
        duration=decoded.duration,
        narration=(replay_bytes, replay_ext),
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
        options,
        default_params(settings, options.image_params),
        language=narration.language,
        duration=narration.decoded.duration,
        narration=(narration.replay_bytes, narration.replay_ext),
        transcript=" ".join(s.text for s in sentences),
    )
    library.set_frames(story.id, frame_drafts(sentences, story))
    return library.get_story(story.id)


def _new_story(
    library: Library,
    options: StoryOptions,
    params: ImageParams,
    language: str,
    duration: float,
    narration: tuple[bytes, str],
    transcript: str = "",
    sentences_missing: bool = False,
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
        sentences_missing=sentences_missing,
        owner=options.owner,
    )


def frame_drafts(sentences: Iterable[Sentence], story: StoryRecord) -> list[FrameDraft]:
    return [frame_draft(s, i, story) for i, s in enumerate(sentences)]


def frame_draft(sentence: Sentence, index: int, story: StoryRecord) -> FrameDraft:
    """A frame before the scene writer ran (``scene_source`` empty): until it has, the scene is
    the English line, as on the offline path."""
    english = sentence.text_en or sentence.text
    bible = notes_bible(story.characters)
    return FrameDraft(
        index=index,
        start=sentence.start,
        end=sentence.end,
        text=sentence.text,
        text_en=sentence.text_en,
        prompt=build_prompt(english, story.style, bible, story.image_model),
        words=tuple((w.start, w.end, w.word) for w in sentence.words),
        scene=english,
    )


def story_params(story: StoryRecord) -> tuple[ImageParams, tuple[str, ...]]:
    """The picture settings and word list saved with a story (older records read too)."""
    record = dict(story.image_params)
    blocklist = tuple(record.pop("blocklist", DEFAULT_BLOCKLIST))
    width, height = record.pop("width", None), record.pop("height", None)
    if not record.get("aspect_ratio") and width and height:
        record["aspect_ratio"] = f"{width}:{height}"  # saved before models named their shapes
    record.setdefault("model", story.image_model)
    known = {f.name for f in dataclasses.fields(ImageParams)}
    seed = record.get("seed")
    if isinstance(seed, int) and not 0 <= seed <= MAX_SEED:  # saved before seeds were checked
        record["seed"] = random.randint(1, 2**31 - 1)
    params = ImageParams(**{k: v for k, v in record.items() if k in known})
    return params, blocklist


def refit_story_params(
    library: Library, story_id: int, models: dict[str, ImageModel]
) -> tuple[ImageParams, tuple[str, ...], list[str]]:
    """A story's picture settings made acceptable to the models on offer now, saved if they
    changed, with a note for the teacher for each change: a story drawn with a model that is
    retired (or not offered by this backend) is redrawn with the default model."""
    story = library.get_story(story_id)
    params, blocklist = story_params(story)
    notes: list[str] = []
    if params.model in models:
        model = models[params.model]
    else:
        model = next(iter(models.values()))
        old = RETIRED_MODELS.get(params.model, params.model)
        why = "is no longer offered" if params.model in RETIRED_MODELS else "is not offered here"
        notes.append(f"{old} {why}, so this story's pictures are drawn with {model.label}")
        shape = nearest_shape(params.aspect_ratio, model) if params.aspect_ratio else None
        params = dataclasses.replace(
            params, aspect_ratio=shape, steps=None, cfg_scale=None, sampler=None
        )
    params, changes = fit_params(params, model)
    notes += changes
    if notes:
        library.update_story(
            story_id, image_model=model.id, image_params=_params_record(params, blocklist)
        )
    return params, blocklist, [f"{note[0].upper()}{note[1:]}." for note in notes]


def _params_for(
    library: Library, story: StoryRecord, backend: PictureBackend | None
) -> tuple[ImageParams, tuple[str, ...]]:
    if backend is None:
        return story_params(story)
    params, blocklist, _notes = refit_story_params(library, story.id, backend.models)
    return params, blocklist


def generate_story(
    library: Library,
    backend: PictureBackend | None,
    story_id: int,
    frame_ids: Iterable[int] | None = None,
    reseed: bool = False,
    lease_s: float = DEFAULT_LEASE_S,
    transient: set[int] | None = None,
) -> Iterator[FrameRecord]:
    """Make the pictures of a story's unfinished frames (or of ``frame_ids``), yielding each frame
    as soon as it is saved. Frames finish in any order; each is committed on its own. Frames
    another worker is drawing right now are skipped (see storage/claims.py). ``transient``
    collects the ids of frames that failed for a reason that may pass (the job queue tries those
    again later)."""
    story = library.get_story(story_id)
    params, blocklist = _params_for(library, story, backend)
    with Work(library, story_id, lease_s) as work:
        frames = work.claim(frame_ids)
        yield from _draw_claimed(
            library,
            backend,
            work,
            frames,
            params,
            blocklist,
            reseed,
            story.language,
            transient,
        )


def _draw_claimed(
    library: Library,
    backend: PictureBackend | None,
    work: Work,
    frames: list[FrameRecord],
    params: ImageParams,
    blocklist: tuple[str, ...],
    reseed: bool = False,
    language: str = "en",
    transient: set[int] | None = None,
) -> Iterator[FrameRecord]:
    """Draw ``concurrency`` frames at once, never further ahead of the caller: a frame begins as
    one finishes, before the caller is handed it, so a caller that stops (a cancelled job) leaves
    at most ``concurrency`` frames begun after its last look, however slow it was to look (a
    pool handed every frame up front drew on while the caller was busy)."""
    if not frames:
        return
    concurrency = max(1, backend.concurrency if backend else 1)
    pool = ThreadPoolExecutor(concurrency, "storyboard")
    waiting = iter(frames)
    running: set[Future[FrameRecord]] = set()

    def begin_next() -> None:
        frame = next(waiting, None)
        if frame is not None:
            seeded = _seeded(params, reseed)
            args = (library, backend, frame, seeded, blocklist, language, transient)
            running.add(pool.submit(_draw_one, *args))

    try:
        for _ in range(concurrency):
            begin_next()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            running.difference_update(finished)
            for _ in finished:  # the pool stays busy while the caller looks at these
                begin_next()
            for future in finished:
                saved = future.result()
                work.finished(saved.id)
                yield saved
    finally:
        pool.shutdown(wait=True)  # pictures in flight are still saved


def _seeded(params: ImageParams, reseed: bool) -> ImageParams:
    return dataclasses.replace(params, seed=random.randint(1, 2**31 - 1)) if reseed else params


def _save_result(
    library: Library, frame_id: int, result: GeneratedImage | ImageAPIError, model: str
) -> FrameRecord:
    if isinstance(result, GeneratedImage):
        data = result.data
        return library.save_frame_result(
            frame_id, "done", data, thumbnail(data), seed=result.seed, model=model
        )
    status = "filtered" if isinstance(result, ContentFilteredError) else "failed"
    return library.save_frame_result(frame_id, status, error=str(result))


NO_BACKEND = (
    "No picture backend is set up (neither NVIDIA_API_KEY nor S2I_LOCAL_IMAGE_MODEL), so this "
    "frame has no picture yet. Set one up and choose 'Generate missing pictures'."
)


def _save_placeholder(library: Library, frame: FrameRecord) -> FrameRecord:
    card = placeholder_card(frame.text)
    return library.save_frame_result(
        frame.id, "no_backend", image=card, thumbnail=thumbnail(card), error=NO_BACKEND
    )


@dataclass(frozen=True)
class StoryEvent:
    """Progress of a streamed storyboard: a sentence became a frame, or a frame got its picture."""

    kind: str  # "frame_added" | "frame_done" | "transcribed" | "scenes"
    story_id: int
    frame: FrameRecord | None = None
    scenes: Scenes | None = None  # "scenes": what the scene writer gave, and how long it took


def stream_story(
    library: Library,
    settings: Settings,
    backend: PictureBackend | None,
    source: bytes | str | Path,
    options: StoryOptions,
    engine: SpeechEngine | None = None,
    language: str | None = None,
) -> Iterator[StoryEvent]:
    """Narration in, storyboard out, with no waiting between the two: each sentence's picture is
    requested the moment Whisper finishes that sentence, while later audio is still being
    transcribed. Events arrive in the caller's thread (Streamlit draws only from its own).

    The story and its narration are saved before transcription starts, marked as missing
    sentences until the last one has its frame: a run killed anywhere is finished by
    ``finish_story``.

    With the scene writer on, pictures wait for it instead: it needs the whole story to resolve
    names and pronouns, so it runs once the last sentence is final (at most ``llm_timeout``)."""
    decoded = decode_audio(source, settings)
    engine = engine or load_engine(settings)
    params = default_params(settings, options.image_params)
    replay_bytes, replay_ext, _mime = narration_for_replay(read_source(source), decoded)
    story = _new_story(
        library,
        options,
        params,
        language=normalize_language(language) or "",
        duration=decoded.duration,
        narration=(replay_bytes, replay_ext),
        sentences_missing=True,
    )
    if not settings.has_scene_writer:
        bible = notes_bible(options.characters).to_json()
        offline = {"path": OFFLINE, "notice": offline_reason(settings)}
        story = library.update_story(story.id, bible=bible | offline)
    yield from _storyboard(library, settings, backend, story, decoded, engine, language)


def finish_story(
    library: Library,
    settings: Settings,
    backend: PictureBackend | None,
    story_id: int,
    engine: SpeechEngine | None = None,
) -> Iterator[StoryEvent]:
    """Finish a story however it was interrupted: transcribe the stored narration again when
    sentences are missing (frames it already has are kept), then draw every missing picture."""
    story = library.get_story(story_id)
    if story.sentences_missing:
        if not story.narration_path:
            raise StorageError(
                f"Story {story_id} lost its narration, so its missing sentences cannot be "
                "transcribed again. Record the story again."
            )
        narration = library.path(story.narration_path)
        decoded = decode_audio(narration, settings)
        engine = engine or load_engine(settings)
        yield from _storyboard(library, settings, backend, story, decoded, engine, story.language)
    for frame in generate_story(library, backend, story_id, lease_s=settings.work_lease_s):
        yield StoryEvent("frame_done", story_id, frame)


def _storyboard(
    library: Library,
    settings: Settings,
    backend: PictureBackend | None,
    story: StoryRecord,
    decoded: DecodedAudio,
    engine: SpeechEngine,
    language: str | None,
) -> Iterator[StoryEvent]:
    """Transcribe the story's narration and draw each sentence's picture as soon as the sentence
    is final; sentences that already have their frame are kept as they are."""
    params, blocklist = _params_for(library, story, backend)
    segments, info = engine.transcribe(decoded.samples, language=normalize_language(language))
    library.update_story(story.id, language=info.language)
    have = {frame.index for frame in story.frames}
    writer_on = settings.has_scene_writer
    if writer_on:  # while Whisper transcribes
        threading.Thread(target=warm_up, name="scene-writer-warm-up", daemon=True).start()
    events: queue.Queue[StoryEvent | BaseException | None] = queue.Queue()
    drawing = ThreadPoolExecutor(backend.concurrency if backend else 1, "storyboard")

    def draw(work: Work, frame: FrameRecord) -> None:
        try:
            saved = _draw_one(library, backend, frame, params, blocklist, info.language)
            work.finished(saved.id)
            events.put(StoryEvent("frame_done", story.id, saved))
        except BaseException as error:  # handed to the caller's thread
            events.put(error)

    def transcribe_and_submit(work: Work) -> None:
        added: set[int] = set()
        try:
            final = final_sentences(segments, info.language, decoded, settings.max_frames)
            texts = []
            for sentence in with_english(final, decoded, engine, info.language):
                texts.append(sentence.text)
                if sentence.index in have:
                    continue
                frame = work.add_frame(frame_draft(sentence, sentence.index, story))
                events.put(StoryEvent("frame_added", story.id, frame))
                added.add(frame.id)
                if not writer_on:
                    drawing.submit(draw, work, frame)
            if not texts:
                raise NoSpeechError(NO_WORDS_HEARD)
            library.update_story(story.id, transcript=" ".join(texts), sentences_missing=False)
            events.put(StoryEvent("transcribed", story.id))
            if writer_on:
                written, scenes = write_story_scenes(library, settings, story.id)
                events.put(StoryEvent("scenes", story.id, scenes=scenes))
                for frame in written.frames:
                    if frame.id in added:
                        drawing.submit(draw, work, frame)
        except BaseException as error:  # handed to the caller's thread
            events.put(error)
        finally:
            drawing.shutdown(wait=True)
            events.put(None)

    with Work(library, story.id, settings.work_lease_s) as work:
        producer = threading.Thread(
            target=transcribe_and_submit, args=(work,), name="transcribe", daemon=True
        )
        producer.start()
        try:
            while (event := events.get()) is not None:
                if isinstance(event, BaseException):
                    raise event
                yield event
        finally:
            producer.join()


def final_sentences(
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
    backend: PictureBackend | None,
    frame: FrameRecord,
    params: ImageParams,
    blocklist: tuple[str, ...],
    language: str = "en",
    transient: set[int] | None = None,
) -> FrameRecord:
    text = f"{frame.text} {frame.text_en} {frame.scene} {frame.prompt}"
    reason = blocked_reason(text, blocklist, language)
    if reason:
        return library.save_frame_result(frame.id, "filtered", error=reason)
    if backend is None:
        return _save_placeholder(library, frame)
    try:
        result: GeneratedImage | ImageAPIError = backend.generate(frame.prompt, params)
    except ImageAPIError as error:
        result = error
        if error.retryable and transient is not None:
            transient.add(frame.id)
    return _save_result(library, frame.id, result, params.model)


def _params_record(params: ImageParams, blocklist: tuple[str, ...]) -> dict:
    record = {k: v for k, v in dataclasses.asdict(params).items() if v not in (None, "")}
    record["blocklist"] = list(blocklist)
    return record
