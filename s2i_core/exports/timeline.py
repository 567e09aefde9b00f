"""When each frame is on screen while the narration plays, and which frames show their picture.

The read-along replay and the narrated video follow the same rule: a frame is on screen from the
start of its sentence until the next sentence starts (the last one until the narration ends), so
pauses keep the picture that was just described. The video shows its title card in the silence
before the first sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import StorageError
from ..storage import FrameRecord, Library, StoryRecord

SHOWS_PICTURE = ("done", "no_backend")  # a failed redo keeps the old file: show the card instead


@dataclass(frozen=True)
class Shot:
    """One stretch of the narration and what is on screen during it."""

    start: float  # seconds into the narration
    end: float
    frame: FrameRecord | None  # None: the title card
    picture: Path | None = None  # None with a frame: the replay's card instead of a picture

    @property
    def duration(self) -> float:
        return self.end - self.start


def shown_picture(frame: FrameRecord, library: Library) -> Path | None:
    """The picture file a frame shows, or None when it shows its card (none made yet, held back,
    failed, or the file is gone)."""
    if frame.status not in SHOWS_PICTURE or not frame.image_path:
        return None
    try:
        path = library.path(frame.image_path)
    except StorageError:
        return None
    return path if path.is_file() else None


def story_shots(
    story: StoryRecord, library: Library, duration: float, title_lead: float = 0.0
) -> list[Shot]:
    """The title card, then every frame, covering [0, duration) without gaps or overlaps.

    The title card fills the silence before the first sentence when that lasts ``title_lead``
    seconds or more; a shorter one goes to the first frame, as in the replay.

    Sentence times come from the transcription and may have been edited, so they are clamped
    into the narration and kept in order; a frame squeezed to nothing by its neighbours is left out
    rather than flashed for a single video frame.
    """
    starts, previous = [], 0.0
    for frame in story.frames:
        previous = min(max(frame.start, previous), duration)
        starts.append(previous)
    if starts and starts[0] < title_lead:
        starts[0] = 0.0
    ends = [*starts[1:], duration]
    shots = [Shot(0.0, starts[0] if starts else duration, None)]
    for frame, start, end in zip(story.frames, starts, ends, strict=True):
        shots.append(Shot(start, end, frame, shown_picture(frame, library)))
    return [shot for shot in shots if shot.duration > 0]
