"""What a worker does with each kind of job: transcribe a story, write its scenes, draw its
pictures, export it.

Every job is idempotent and resumable, because a job may run twice (the queue redelivers it
after a crash) or stop half-way (a worker killed, a teacher cancelling): transcription adds only
the sentences the story does not have yet, scene writing writes only the scenes still missing,
drawing skips frames that are done or that another worker holds (frame claims), and each step is
saved before the next starts. A job that must wait for another (pictures for their scenes) is
that job's ``then``: it is queued when that job is done (see JobBook.finish).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import replace as replace_record

from ..audio import DecodedAudio, decode_audio
from ..errors import (
    AudioError,
    EditError,
    FramesNotDrawnError,
    SceneWriterUnavailableError,
    StorageError,
)
from ..exports.stored import ExportOptions, make
from ..i18n import msg
from ..speech import Segment, normalize_language, nothing_heard, usable_segments
from ..storage import FrameRecord, Library, StoryHold
from ..story.bible import TEACHER
from ..story.drafts import frame_draft
from ..story.narration import final_sentences
from ..story.scene_writer import warm_up
from ..story.scenes import write_missing_scenes
from ..story.sentences import Sentence, with_english
from . import leftovers
from .drawing import Choose, Drawing, missing_pictures
from .runtime import JobContext, StoryEvent
from .specs import Draw, Export, Transcribe, WriteScenes


# --- transcription -------------------------------------------------------------------------------
def transcribe(job: Transcribe, context: JobContext) -> str:
    """Transcribe the story's stored narration into frames, one per sentence, each saved as it
    becomes final (a drawing that follows picks it up at once). Run again after a crash, it adds
    only the sentences still missing; the story reads as interrupted until the last one is in.
    With ``replace_sentences`` nothing is saved until the whole narration is heard again."""
    runtime = context.runtime
    library, settings = runtime.library, runtime.settings
    story = library.get_story(job.story)
    if not story.narration_path:
        raise StorageError(
            msg(
                "Story {id} has no stored narration to transcribe. Record the story again.",
                id=story.id,
            )
        )
    decoded = runtime.recordings.pop(story.id, None)  # a live story's recording, already decoded
    decoded = decoded or _stored_narration(library.path(story.narration_path), settings)
    context.progress(0.0, decoded.duration, msg("Loading the speech model"))
    engine = runtime.speech_engine()
    context.progress(0.0, decoded.duration, msg("Listening to the narration"))
    if "scenes" in job.followers:  # the writer's client loads while Whisper listens
        threading.Thread(target=warm_up, name="scene-writer-warm-up", daemon=True).start()
    if job.replace_sentences:
        count = _hear_again(job, context, decoded, engine)
    else:
        with StoryHold(library, story.id, settings.work_lease_s):
            count = _hear(job, context, decoded, engine)
    context.report(StoryEvent("transcribed", story.id))
    if not _active(context, "draw") and "draw" not in job.followers:
        library.update_story(story.id, status="draft")  # the teacher checks the sentences first
    return f"{count} sentences"


def _stored_narration(path, settings) -> DecodedAudio:
    try:
        return decode_audio(path, settings)
    except AudioError as error:  # the same kind of error, said of the story's own recording
        raise type(error)(f"The story's saved narration could not be read. {error}") from error


def _hear(job: Transcribe, context: JobContext, decoded: DecodedAudio, engine) -> int:
    """The first hearing: each sentence saved as a frame the moment it is final."""
    runtime, library = context.runtime, context.runtime.library
    segments, info = engine.transcribe(decoded.samples, language=normalize_language(job.language))
    story = library.update_story(
        job.story,
        language=info.language,
        language_probability=info.language_probability,
        sentences_missing=True,
    )
    have = {frame.index for frame in story.frames}
    texts = []
    for sentence in _sentences(context, segments, info, decoded, engine):
        texts.append(sentence.text)
        if sentence.index not in have:
            frame = library.add_frame(story.id, frame_draft(sentence, sentence.index, story))
            runtime.news.announce(story.id)
            context.report(StoryEvent("frame_added", story.id, frame))
    if not texts:  # a guessed language that gave no words is not kept as the story's
        library.update_story(story.id, language=normalize_language(job.language) or "")
        raise nothing_heard(info)
    library.update_story(story.id, transcript=" ".join(texts), sentences_missing=False)
    return len(texts)


def _hear_again(job: Transcribe, context: JobContext, decoded: DecodedAudio, engine) -> int:
    """Hearing a story again: the new sentences replace the old ones (and their scenes and
    bible) in one transaction, once all are heard; on any failure the story is as it was."""
    library = context.runtime.library
    segments, info = engine.transcribe(decoded.samples, language=normalize_language(job.language))
    sentences = list(_sentences(context, segments, info, decoded, engine))
    if not sentences:
        raise nothing_heard(info)
    story = library.get_story(job.story)
    if any(frame.status != "pending" for frame in story.frames):
        raise EditError(
            msg("This story got pictures while it was heard again, so its sentences were kept.")
        )
    heard = replace_record(story, language=info.language)
    library.set_frames(
        story.id,
        [frame_draft(s, s.index, heard) for s in sentences],
        language=info.language,
        language_probability=info.language_probability,
        transcript=" ".join(s.text for s in sentences),
        sentences_missing=False,
        bible=story.bible if story.bible.get("source") == TEACHER else {},
    )
    return len(sentences)


def _sentences(
    context: JobContext, segments: Iterable[Segment], info, decoded: DecodedAudio, engine
) -> Iterator[Sentence]:
    """The usable sentences with their English, each counted on the job's progress as Whisper
    finishes it."""
    max_frames = context.runtime.settings.max_frames
    usable = usable_segments(segments, info, engine.options)
    heard = final_sentences(usable, info.language, decoded, max_frames)
    for count, sentence in enumerate(with_english(heard, decoded, engine, info.language), 1):
        context.progress(sentence.end, decoded.duration, msg("Heard {n} sentences", n=count))
        yield sentence


# --- scenes --------------------------------------------------------------------------------------
WRITER_TRIES = 6  # times the scene writer is asked while it is down (about 13 minutes)


def writer_retry_delay(tries: int) -> float:
    """Seconds a scenes job waits on the queue after its ``tries``-th try found the writer
    down: 30, 60, 120, 240, then 300."""
    return min(30.0 * 2 ** (tries - 1), 300.0)


def write_scenes(job: WriteScenes, context: JobContext) -> str:
    """Write the scenes the story's frames are missing (or only those of ``frames``): one
    request to the LLM, or the offline lines. Run again, it finds them written. While the LLM
    service is down, the job waits on the queue and asks again (the pictures that follow it
    wait too); after WRITER_TRIES, or where no queue retries it (the CLI), the offline lines
    are used, those that can be trusted."""
    runtime = context.runtime
    context.progress(0, 1, msg("Writing a scene for every picture"))
    frames = None if job.frames is None else list(job.frames)
    wait = runtime.retried_by_queue and context.job.attempts < WRITER_TRIES
    written = write_missing_scenes(
        runtime.library, runtime.settings, job.story, frames, wait_if_unavailable=wait
    )
    if written is None:
        return "Every scene was written already."
    if written.unavailable and wait:
        delay = writer_retry_delay(context.job.attempts)
        waiting = f"Pictures wait for the scene writer; retrying in {delay:.0f} s."
        context.progress(0, 1, f"{waiting} {written.unavailable}")
        raise SceneWriterUnavailableError(f"{written.unavailable} {waiting}", retry_after=delay)
    context.report(StoryEvent("scenes", job.story, scenes=written))
    return written.notice or f"{len(written.frames)} scenes written."


# --- pictures ------------------------------------------------------------------------------------
WAITING_FOR_WORDS = (
    "{count} wait for an English line (Whisper's could not be trusted): type it with "
    "'Draw from my own words'."
)


def draw(job: Draw, context: JobContext) -> str:
    """Draw the story's missing pictures (or the chosen frames again). With ``follow``, also the
    frames a transcription of the same story is still adding, as soon as each appears."""
    runtime = context.runtime
    drawing = Drawing(
        runtime.library,
        runtime.picture_backend(),
        job.story,
        missing_pictures if job.frames is None else _redraws(runtime.library, job.frames),
        reseed=job.reseed,
        lease_s=runtime.settings.work_lease_s,
        more=(lambda: _active(context, "transcribe")) if job.follow else (lambda: False),
        check=context.check,
    )
    stop_listening = runtime.news.listen(job.story, drawing.wake)
    try:
        with closing(drawing.pictures()) as pictures:  # on Stop: the rest is not begun
            for count, frame in enumerate(pictures, 1):
                context.report(StoryEvent("frame_done", job.story, frame))
                total = len(drawing.tried)
                context.progress(
                    count, total, msg("Drew {done} of {total} pictures", done=count, total=total)
                )
    finally:
        stop_listening()
    if drawing.transient and runtime.retried_by_queue:
        raise FramesNotDrawnError(
            msg(
                "{transient} pictures failed for a reason that may pass (the picture "
                "service was busy or down); they will be tried again.",
                transient=len(drawing.transient),
            )
        )
    waiting = [WAITING_FOR_WORDS.format(count=len(drawing.wordless))] if drawing.wordless else []
    # a retired model: the teacher is told
    return " ".join([f"{len(drawing.tried)} pictures.", *drawing.notes, *waiting])


def _redraws(library: Library, chosen: Mapping[int, int]) -> Choose:
    """The frames asked again ({frame id: attempts when asked}) that were not redrawn since, or
    whose words changed after that redraw (a scene written after the teacher's fix, while another
    drawing drew the fixed sentence: its picture has the prompt without the scene)."""

    def stale(frame: FrameRecord) -> bool:
        shown = [p for p in library.frame_pictures(frame.id) if p.id == frame.picture_id]
        return bool(shown) and shown[0].prompt != frame.prompt

    return lambda story: [
        f for f in story.frames if f.id in chosen and (f.attempts <= chosen[f.id] or stale(f))
    ]


def _active(context: JobContext, kind: str) -> bool:
    book, story_id = context.runtime.book, context.job.story_id
    return any(j.kind == kind for j in book.of_story(story_id, active_only=True))


# --- exports -------------------------------------------------------------------------------------
def export(job: Export, context: JobContext) -> str:
    """Make the story's PDF or narrated video in its media folder, or find the one made for this
    version of the story. The detail is the stored path."""
    library = context.runtime.library
    options = ExportOptions(job.format, job.resolution)
    story = library.get_story(job.story)
    context.progress(0, 1, msg("Making the {export}", export=options.label))

    def encoded(fraction: float) -> None:  # the video's frames; raises Stop once cancelled
        done = f"{fraction:.0%}"
        context.progress(
            fraction, 1, msg("Making the {export}: {done}", export=options.label, done=done)
        )

    with leftovers.tidied(context.runtime, context.job):  # what a killed or failed export left
        path = make(library, story, options, encoded)
    return path.relative_to(library.data_dir).as_posix()
