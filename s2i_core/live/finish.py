"""A live story's bookkeeping: its hold while it is told, each sentence's scene (the bible rolls
on), and its end: the whole recording heard again, or, after a crash, on the next start."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from .. import jobs
from ..audio import decode_audio
from ..errors import AudioError, S2IError
from ..settings import Settings
from ..speech import SpeechEngine, load_engine
from ..storage import Library
from ..story.bible import TEACHER
from ..story.drafts import frame_draft
from ..story.scene_writer import write_scenes
from ..story.scenes import apply_scenes, scene_request, story_bible
from ..story.sentences import Sentence, add_english
from .heard_again import DONE, HEARING_AGAIN, LISTENING, STATE_FILE, LiveState, compare
from .recording import repair

if TYPE_CHECKING:
    from .events import EventLog
    from .session import LiveStory

log = logging.getLogger("s2i_core.live")


@contextlib.contextmanager
def hold_while_live(library: Library, story_id: int, lease_s: float) -> Iterator[None]:
    """The story reads as being worked on while it is told (renewed every third of the lease);
    a crash lets the lease run out, and the story reads as interrupted."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease_s / 3):
            with contextlib.suppress(Exception):  # a busy database: the next beat tries again
                library.hold_story(story_id, lease_s)

    library.hold_story(story_id, lease_s)
    thread = threading.Thread(target=renew, name="live-lease", daemon=True)
    thread.start()
    failed = True
    try:
        yield
        failed = False
    finally:
        stop.set()
        thread.join()
        library.end_work(story_id, interrupted=failed)


def write_live_scene(library: Library, settings: Settings, story_id: int, frame_id: int) -> float:
    """The scene of one new sentence, the story so far as its context; the bible grows with the
    characters the writer meets (a teacher's bible stays as it is). Returns when it was saved."""
    story = library.get_story(story_id)
    position = next(i for i, f in enumerate(story.frames) if f.id == frame_id)
    known = story_bible(story) if story.bible.get("characters") else None
    if story.bible.get("source") == TEACHER:
        known = story_bible(story)
    request = replace(scene_request(story, only=(position,)), bible=known)
    apply_scenes(library, story_id, write_scenes(request, settings))
    return time.monotonic()


def finish_story(live: LiveStory, events: EventLog) -> None:
    """After the teacher stopped: the whole recording heard in one pass (see heard_again)."""
    events.add("state", state=HEARING_AGAIN)
    state = hear_again(live.library, live.settings, live.story_id, live.engine)
    events.add("heard_again", suggestions=len(state.suggestions), note=state.note)


def hear_again(
    library: Library, settings: Settings, story_id: int, engine: SpeechEngine | None = None
) -> LiveState:
    """Hear a live story's whole narration again: re-time the frames that read the same, keep a
    suggestion for those that differ, add frames for what was never heard live (and queue their
    scenes and pictures). The story is then a draft like any other."""
    LiveState(HEARING_AGAIN).write(library, story_id)
    story = library.get_story(story_id)
    path = library.path(story.narration_path or "")
    seconds = repair(path)
    decoded = None
    with contextlib.suppress(AudioError):  # silence, or a muted microphone: nothing to hear
        decoded = decode_audio(path, settings) if seconds >= 0.1 else None
    engine = engine or load_engine(settings)
    segments, language = [], story.language or "en"
    if decoded is not None:
        found, info = engine.transcribe(decoded.samples, language=story.language or None)
        segments, language = [s for s in found if s.text.strip()], info.language
    comparison = compare(story.frames, segments, language)
    for frame_id, start, end, words in comparison.retimed:
        library.retime_frame(frame_id, start, end, words)
    tail = add_english(comparison.tail, decoded, engine, language) if decoded else []
    new_ids = _add_tail(library, settings, story_id, tail)
    texts = [f.text for f in library.get_story(story_id).frames]
    library.update_story(
        story_id,
        duration=seconds,
        language=story.language or language,
        transcript=" ".join(texts),
        sentences_missing=False,
    )
    library.refresh_story_status(story_id)
    note = _note(len(comparison.suggestions), len(new_ids))
    if not segments and not story.frames:
        note = "No words were heard: check that the microphone is on and not muted"
    state = LiveState(DONE, comparison.suggestions, note)
    state.write(library, story_id)
    if new_ids:
        _queue_pictures(settings, library, story_id)
    return state


def _add_tail(
    library: Library, settings: Settings, story_id: int, sentences: list[Sentence]
) -> list[int]:
    added = []
    for sentence in sentences:
        story = library.get_story(story_id)
        if len(story.frames) >= settings.max_frames:
            break
        draft = frame_draft(sentence, len(story.frames), story)
        added.append(library.add_frame(story_id, draft).id)
    return added


def _queue_pictures(settings: Settings, library: Library, story_id: int) -> None:
    """The new frames' pictures (and any other still missing), by the workers."""
    story = library.get_story(story_id)
    try:
        jobs.queue_pictures(settings, library, story, None, scenes_first=settings.has_scene_writer)
    except S2IError:
        log.warning("the pictures of story %s's last sentences wait for a worker", story_id)


def _note(suggestions: int, added: int) -> str:
    parts = []
    if suggestions:
        parts.append(
            f"{suggestions} sentence{'s' if suggestions > 1 else ''} read differently when the "
            "whole recording was heard again"
        )
    if added:
        parts.append(f"{added} sentence{'s' if added > 1 else ''} heard only at the end was added")
    return "; ".join(parts)


def live_stories_to_recover(library: Library) -> list[int]:
    """Stories a crash left while they were told (or heard again), nobody holding them now:
    their narration is on disk, up to the last chunk that arrived."""
    waiting = []
    for path in library.media.root.glob(f"*/{STATE_FILE}"):
        with contextlib.suppress(ValueError, OSError, S2IError):
            story_id = int(path.parent.name)
            state = LiveState.read(library, story_id)
            held = library.get_story(story_id).status == "generating"
            if state and state.state in (LISTENING, HEARING_AGAIN) and not held:
                waiting.append(story_id)
    return sorted(waiting)


def recover(library: Library, settings: Settings) -> threading.Thread | None:
    """Finish, in the background, the live stories a crash left: each is heard again whole."""
    waiting = live_stories_to_recover(library)
    if not waiting:
        return None

    def finish_all() -> None:
        for story_id in waiting:
            try:
                hear_again(library, settings, story_id)
            except Exception:
                log.exception("live story %s could not be finished", story_id)

    thread = threading.Thread(target=finish_all, name="live-recover", daemon=True)
    thread.start()
    return thread
