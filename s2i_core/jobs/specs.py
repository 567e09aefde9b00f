"""What each kind of job is asked to do: one frozen dataclass per kind.

Pages, the CLI and the handlers pass these around; only the job book turns them into a row (and
back), so a parameter can be followed by its type from the page that asks for it to the handler
that uses it. ``then`` is the job queued when this one is done (pictures after their scenes, for
example); ``registry.JOBS`` says which queue and which handler each kind goes to.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ..settings import Settings
from ..storage import StoryRecord

QUEUES = ("speech", "pictures")  # speech: needs the speech model; pictures: everything else


@dataclass(frozen=True)
class JobSpec:
    """A job of one story. Subclasses name their kind: ``class Draw(JobSpec, kind="draw")``."""

    story: int  # the story's id
    then: JobSpec | None = field(default=None, kw_only=True)  # queued when this one is done

    kind: ClassVar[str] = ""
    kinds: ClassVar[dict[str, type[JobSpec]]] = {}  # every kind, by name (for the job book)

    def __init_subclass__(cls, kind: str = "", **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if kind:
            cls.kind = kind
            JobSpec.kinds[kind] = cls

    @property
    def followers(self) -> tuple[str, ...]:
        """The kinds of the jobs that follow this one, in order."""
        return (self.then.kind, *self.then.followers) if self.then else ()


@dataclass(frozen=True)
class Transcribe(JobSpec, kind="transcribe"):
    """Hear the story's stored narration: one frame per sentence, each saved as it is final."""

    language: str | None = None  # a Whisper language code ("es"); None: detect it
    # hear a transcribed story again (another language): its sentences, scenes and bible are
    # replaced in one transaction once every new sentence is heard; on a failure they all stay
    replace_sentences: bool = False


@dataclass(frozen=True)
class WriteScenes(JobSpec, kind="scenes"):
    """Write the scenes the story's frames are missing (the scene writer, or the offline path)."""

    frames: tuple[int, ...] | None = None  # only these frame ids; None: every frame


@dataclass(frozen=True)
class Draw(JobSpec, kind="draw"):
    """Draw the story's missing pictures, or draw chosen frames again."""

    # {frame id: its attempts when the redraw was asked}: a job that runs twice draws each once;
    # None: every frame without a picture
    frames: Mapping[int, int] | None = None
    reseed: bool = False  # a new seed for each picture (a redraw that should look different)
    follow: bool = False  # also draw the frames a transcription of the story is still adding


@dataclass(frozen=True)
class Export(JobSpec, kind="export"):
    """Make the story's PDF or narrated video in its media folder (once per story version)."""

    format: str = "pdf"  # "pdf" or "video" (see exports.stored.ExportOptions)
    resolution: str = "720p"  # of a video: "720p" or "1080p"; a PDF ignores it


# --- the jobs that make a story -----------------------------------------------------------------
def transcription_jobs(
    settings: Settings, story_id: int, language: str | None = None, then_draw: bool = False
) -> list[JobSpec]:
    """Transcribe a saved narration into frames; with ``then_draw``, draw them too. The scene
    writer needs the whole story, so with it on the pictures follow the scenes, which follow the
    transcription; without it, each frame is drawn as soon as its sentence is heard (a drawing
    job that follows the transcription as it goes)."""
    if then_draw and settings.has_scene_writer:
        then = WriteScenes(story_id, then=Draw(story_id))
        return [Transcribe(story_id, language, then=then)]
    jobs: list[JobSpec] = [Transcribe(story_id, language)]
    if then_draw:
        jobs.append(Draw(story_id, follow=True))
    return jobs


def pictures_job(
    story: StoryRecord, frame_ids: list[int] | None = None, reseed: bool = False
) -> Draw:
    """Draw the story's missing pictures, or draw ``frame_ids`` again (a new seed with
    ``reseed``). The redrawn frames are remembered by their attempt count, so a job that runs
    twice draws each of them once."""
    if frame_ids is None:
        return Draw(story.id, reseed=reseed)
    chosen = {f.id: f.attempts for f in story.frames if f.id in set(frame_ids)}
    return Draw(story.id, types.MappingProxyType(chosen), reseed=reseed)


def hearing_again_job(
    settings: Settings, story_id: int, language: str | None, then_draw: bool = False
) -> Transcribe:
    """Hear a transcribed story again in ``language``, its sentences replaced only once the new
    ones are all heard; with ``then_draw``, the pictures follow (after their scenes with the
    scene writer on: a drawing that followed the hearing would draw the old sentences)."""
    then: JobSpec | None = None
    if then_draw:
        draw = Draw(story_id)
        then = WriteScenes(story_id, then=draw) if settings.has_scene_writer else draw
    return Transcribe(story_id, language, replace_sentences=True, then=then)
