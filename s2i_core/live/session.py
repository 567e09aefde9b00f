"""One story told live: audio in, sentences and pictures out while the teacher is still speaking.

    audio (16-bit PCM, 16 kHz) -> narration.wav on disk, chunk by chunk
                               -> PauseSegmenter -> LiveListener -> a frame per sentence, saved
    frame -> the scene writer (rolling bible, one sentence at a time) -> drawn at once
    stop (or a connection gone for good) -> the last words -> the whole recording heard again

The story is a normal draft in the library from the first second: its narration grows on disk,
each sentence is a saved frame, each picture is saved as it comes. The story is held (its lease
renewed) while it is being told, so a crash leaves it ``interrupted`` with everything heard so
far, and ``recover`` finishes it on the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from ..audio import DecodedAudio
from ..i18n import msg
from ..jobs.drawing import generate_story
from ..pictures import PictureBackend
from ..settings import Settings
from ..speech import SpeechEngine
from ..storage import FrameRecord, Library
from ..story.bible import OFFLINE, notes_bible
from ..story.drafts import Recording, StoryOptions, frame_draft, start_story
from ..story.scene_writer import offline_reason
from ..story.sentences import Sentence, add_english
from .events import EventLog, frame_event
from .finish import finish_story, hold_while_live, write_live_scene
from .heard_again import LISTENING, LiveState
from .listener import CONTEXT_S, Heard, LiveListener
from .recording import NAME, LiveRecording, from_pcm
from .segmenter import Cut, PauseSegmenter, SegmenterOptions

log = logging.getLogger("s2i_core.live")
CHUNK_S = 0.1  # the audio in one message from the page (s2i_ui/live_component.html)


@dataclass(frozen=True)
class LiveOptions:
    """How a live story listens and waits."""

    # Where speech is cut (pauses, noise, run-ons).
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)
    # A connection gone this long (no audio, no screen asking to go on) ends the story as if
    # the teacher had pressed stop: what was heard is kept and heard again.
    reconnect_grace_s: float = 30.0
    # A page that never connects (closed as it opened) ends the story after this long; nothing
    # was heard, so nothing is kept.
    first_connection_s: float = 600.0
    # Beam for live sentences; None: the engine's own (S2I_ASR_BEAM_SIZE, 5). Greedy: with the
    # sentences before as context it hears as well as beam 5 (bench/live.py: live WER 0.052
    # greedy, 0.070 beam 5 on the 60 s story) and is quicker, which brings the text within 2 s
    # of the last word on 2 cores. The whole recording is heard again with the engine's beam
    # when the teacher stops either way.
    beam_size: int | None = 1
    # Seconds of the sentences just kept heard again before each new one (listener.CONTEXT_S):
    # Whisper hears a sentence's start in the flow of speech; 0 hears each cut alone.
    context_s: float = CONTEXT_S
    # A listener that fell behind the speaker hears the waiting cuts in passes of up to this
    # much audio (one encoder pass each, instead of one per cut).
    catch_up_s: float = 20.0
    # Whether stopping hears the whole recording again (re-timing, suggestions).
    hear_again: bool = True


class LiveStory:
    """The engine side of one live story. Thread-safe: audio may come from any thread."""

    def __init__(
        self,
        library: Library,
        settings: Settings,
        story_id: int,
        engine: SpeechEngine,
        backend: PictureBackend | None,
        language: str | None = None,
        options: LiveOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.library, self.settings, self.story_id = library, settings, story_id
        self.engine, self.backend = engine, backend
        self.options = options or LiveOptions()
        self.clock = clock
        self.events = EventLog()
        self.recording = LiveRecording(library.path(self.story.narration_path or ""))
        self.listener = LiveListener(
            engine,
            self.recording.samples,
            language,
            clock,
            self.options.beam_size,
            self.options.context_s,
        )
        self.segmenter = PauseSegmenter(self.options.segmenter)
        self.started_at: float | None = None  # when the first audio arrived
        self._audio: queue.Queue[bytes | None] = queue.Queue()
        self._stop_asked = threading.Event()
        self._hearing = threading.Lock()
        self.finished = threading.Event()
        self._connected = 0
        self._gone_since: float | None = None
        self._ever_connected = False
        self._created_at = clock()
        self._drawing = ThreadPoolExecutor(max(1, backend.concurrency if backend else 1), "live")
        self._writing = ThreadPoolExecutor(1, "live-scenes")  # one at a time: the bible rolls
        self._full_notice = False
        self._left_to_final_pass = False  # stopped far behind the speaker (see below)
        self._thread = threading.Thread(target=self._listen, name="live-listen", daemon=True)
        self._thread.start()

    @property
    def story(self):
        return self.library.get_story(self.story_id)

    @property
    def heard_samples(self) -> int:
        return self.recording.count

    # --- what the connection does --------------------------------------------------------------
    def hear(self, pcm: bytes) -> int:
        """Keep 16-bit PCM at 16 kHz (written to disk before this returns) and listen to it.
        Returns the number of samples kept so far (the client resends from there after a drop)."""
        if self._stop_asked.is_set():
            return self.recording.count
        if self.started_at is None:
            self.started_at = self.clock()
        count = self.recording.append(pcm)
        self._audio.put(pcm)
        return count

    def hear_at(self, offset: int, pcm: bytes) -> int:
        """``hear`` for numbered audio: ``offset`` is the first sample's number in the recording.
        What was kept already (resent after a dropped connection) is skipped; a gap (samples
        that never came) is kept as silence, so the times of what follows stay right."""
        with self._hearing:  # a reconnected tab and its old connection may overlap
            count = self.recording.count
            if offset < count:
                pcm = pcm[(count - offset) * 2 :]
            elif offset > count:
                pcm = bytes(2 * (offset - count)) + pcm
            return self.hear(pcm) if pcm else count

    def connected(self) -> None:
        self._connected += 1
        self._gone_since, self._ever_connected = None, True

    def disconnected(self) -> None:
        self._connected = max(0, self._connected - 1)
        if not self._connected:
            self._gone_since = self.clock()

    def stop(self) -> None:
        """The teacher stopped: the last words are heard, then the whole recording again."""
        self._stop_asked.set()
        self._audio.put(None)

    # --- the listening thread ------------------------------------------------------------------
    def _listen(self) -> None:
        try:
            with hold_while_live(self.library, self.story_id, self.settings.work_lease_s):
                self.events.add("state", state=LISTENING)
                self._until_stopped()
                if not self._left_to_final_pass:
                    self._heard(self.segmenter.finish())
                self.recording.close()
            if self.options.hear_again:
                finish_story(self, self.events)
        except Exception as error:  # the recording is safe on disk: say so and finish later
            log.exception("live story %s failed", self.story_id)
            stopped = msg("Listening stopped ({kind}).", kind=type(error).__name__)
            self.events.add("problem", message=stopped)
            self.recording.close()
        finally:
            self._drawing.shutdown(wait=True)
            self._writing.shutdown(wait=True)
            if not self.recording.count:  # the page went away before a sound was sent
                self.library.delete_story(self.story_id)
            self.events.add("state", state="done")
            self.finished.set()

    def _hearing_again_soon(self) -> bool:
        """Stopped while the listener is well behind the speaker, with the whole recording about
        to be heard again: what it has not caught up with is left to that pass (which makes new
        frames of it), not heard twice. Not behind, the last sentence is heard live as usual."""
        behind = self._audio.qsize() * CHUNK_S > self.options.catch_up_s / 4
        if self._stop_asked.is_set() and self.options.hear_again and behind:
            self._left_to_final_pass = True
        return self._left_to_final_pass

    def _until_stopped(self) -> None:
        while not self._hearing_again_soon():
            self.recording.sync()
            try:
                pcm = self._audio.get(timeout=0.25)
            except queue.Empty:
                if self._gone_too_long():
                    lost = msg("The connection was lost; story kept.")
                    self.events.add("problem", message=lost)
                    return
                continue
            if pcm is None:
                return
            waiting = [pcm]  # behind the speaker: what came meanwhile is heard in one pass
            for _ in range(self._audio.qsize()):
                more = self._audio.get_nowait()
                if more is None:
                    self._audio.put(None)
                    break
                waiting.append(more)
            self._heard(self.segmenter.feed(from_pcm(b"".join(waiting))))

    def _gone_too_long(self) -> bool:
        if not self._ever_connected:  # the page never came (closed as it opened)
            return self.clock() - self._created_at > self.options.first_connection_s
        gone = self._gone_since
        return gone is not None and self.clock() - gone > self.options.reconnect_grace_s

    def _heard(self, cuts: list[Cut]) -> None:
        """Each cut heard at once; when several wait (the listener fell behind the speaker),
        they are heard together, up to ``catch_up_s`` of audio a pass."""
        for n, cut in enumerate(cuts):
            last = n == len(cuts) - 1
            heard_now = last or self.listener.pending_seconds >= self.options.catch_up_s
            heard = self.listener.hear(cut, transcribe=heard_now)
            if heard is not None:
                for sentence in heard.sentences:
                    self._add(sentence, heard)

    # --- each sentence -------------------------------------------------------------------------
    def _add(self, sentence: Sentence, heard: Heard) -> None:
        story = self.story
        if not story.language:
            self.library.update_story(self.story_id, language=heard.language)
            story = self.story
        sentence = self._in_english(sentence, heard.language)
        if len(story.frames) >= self.settings.max_frames:
            frame = self._join_last(story.frames[-1], sentence)
            self.events.add("sentence", ready_at=heard.ready_at, **frame_event("joined", frame))
            return
        frame = self.library.add_frame(
            self.story_id, frame_draft(sentence, len(story.frames), story)
        )
        self.events.add(
            "sentence", ready_at=heard.ready_at, heard_s=heard.seconds, **frame_event("new", frame)
        )
        if self.settings.has_scene_writer:
            self._writing.submit(self._write_then_draw, frame.id)
        else:
            self._drawing.submit(self._draw, frame.id)

    def _in_english(self, sentence: Sentence, language: str) -> Sentence:
        if (language or "en").startswith("en"):
            return replace(sentence, text_en=sentence.text)
        samples = self.recording.samples()
        audio = DecodedAudio(samples, len(samples) / 16000, "wav")
        return add_english([sentence], audio, self.engine, language)[0]

    def _join_last(self, last: FrameRecord, sentence: Sentence) -> FrameRecord:
        """Past ``max_frames`` the story goes on in the last frame's text (its picture stays)."""
        if not self._full_notice:
            self._full_notice = True
            self.events.add(
                "problem",
                message=msg(
                    "The storyboard is full ({n} pictures): the rest of the story joins the last "
                    "picture's sentence.",
                    n=self.settings.max_frames,
                ),
            )
        words = (*last.words, *((w.start, w.end, w.word) for w in sentence.words))
        self.library.retime_frame(last.id, last.start, sentence.end, words)
        return self.library.update_frame_text(
            last.id,
            text=f"{last.text} {sentence.text}",
            text_en=f"{last.text_en} {sentence.text_en}".strip(),
        )

    def _write_then_draw(self, frame_id: int) -> None:
        try:
            written_at = write_live_scene(self.library, self.settings, self.story_id, frame_id)
            self.events.add("scene", frame_id=frame_id, written_at=written_at)
        except Exception:
            log.exception("the scene of frame %s could not be written", frame_id)
        self._drawing.submit(self._draw, frame_id)

    def _draw(self, frame_id: int) -> None:
        try:
            self.events.add("drawing", frame_id=frame_id)
            for frame in generate_story(
                self.library,
                self.backend,
                self.story_id,
                [frame_id],
                lease_s=self.settings.work_lease_s,
            ):
                self.events.add("picture", **frame_event("picture", frame))
        except Exception:
            log.exception("the picture of frame %s could not be drawn", frame_id)
        finally:
            if not self.finished.is_set() and not self._stop_asked.is_set():
                self.library.hold_story(self.story_id, self.settings.work_lease_s)


def start_live_story(
    library: Library,
    settings: Settings,
    options: StoryOptions,
    engine: SpeechEngine,
    backend: PictureBackend | None,
    language: str | None = None,
    live: LiveOptions | None = None,
) -> LiveStory:
    """A new story in the library, told live: its narration file is created empty and grows."""
    story = start_story(library, settings, Recording(0.0, b"", "wav"), options, language)
    if not settings.has_scene_writer:
        bible = notes_bible(options.characters).to_json()
        library.update_story(
            story.id, bible=bible | {"path": OFFLINE, "notice": offline_reason(settings)}
        )
    LiveState().write(library, story.id)
    assert story.narration_path and story.narration_path.endswith(NAME)
    return LiveStory(library, settings, story.id, engine, backend, language, live)
