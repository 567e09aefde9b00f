"""When the teacher stops: the whole recording heard once more, in one pass, with full context.

Each live frame keeps its place (its picture may be on the projector already). The words the
whole pass heard are given to the frames by time; a frame whose words read the same is re-timed
(word times from the whole recording are the exact ones the replay highlights), and one that
reads differently keeps its text and picture and gets a *suggestion*: the teacher may take the
new sentence, and only then is its picture drawn again. Words after the last live sentence (the
connection dropped, the app stopped) become new frames.

The suggestions and the live state of a story live beside its narration, in ``live.json``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..speech import Segment, Word
from ..storage import FrameRecord, Library, WordTime
from ..story.sentences import Sentence, stream_sentences

STATE_FILE = "live.json"
LISTENING, HEARING_AGAIN, DONE = "listening", "hearing again", "done"
TAIL_GAP_S = 0.6  # words starting this long after the last live sentence were not heard live


@dataclass(frozen=True)
class Suggestion:
    """What the whole recording reads for one frame, where it differs from the live sentence."""

    frame_id: int
    text: str
    words: tuple[WordTime, ...]


@dataclass(frozen=True)
class Comparison:
    retimed: list[tuple[int, float, float, tuple[WordTime, ...]]]  # frame id, start, end, words
    suggestions: list[Suggestion]
    tail: list[Sentence]  # sentences after the last live one, not heard live


@dataclass
class LiveState:
    """A live story's state beside its narration: listening, hearing again, done."""

    state: str = LISTENING
    suggestions: list[Suggestion] = field(default_factory=list)
    note: str = ""  # for the teacher: what the whole pass found

    @classmethod
    def read(cls, library: Library, story_id: int) -> LiveState | None:
        path = state_path(library, story_id)
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        suggestions = [
            Suggestion(s["frame_id"], s["text"], tuple(tuple(w) for w in s["words"]))
            for s in data.get("suggestions", [])
        ]
        return cls(data.get("state", DONE), suggestions, data.get("note", ""))

    def write(self, library: Library, story_id: int) -> None:
        path = state_path(library, story_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)

    def without(self, frame_id: int) -> LiveState:
        kept = [s for s in self.suggestions if s.frame_id != frame_id]
        return LiveState(self.state, kept, self.note)


def state_path(library: Library, story_id: int) -> Path:
    return library.media.root / str(int(story_id)) / STATE_FILE


def compare(
    frames: Sequence[FrameRecord], segments: Sequence[Segment], language: str
) -> Comparison:
    """The whole pass's words given to the live frames by time (see the module's docstring)."""
    words = [w for s in segments for w in s.words if w.word.strip()]
    frames = sorted(frames, key=lambda f: f.index)
    if not frames:
        return Comparison([], [], _sentences(words, language, 0))
    tail_from = frames[-1].end + TAIL_GAP_S
    heard = [w for w in words if w.start < tail_from]
    tail = [w for w in words if w.start >= tail_from]
    shares = _by_frame(frames, heard)
    retimed, suggestions = [], []
    for frame, mine in zip(frames, shares, strict=True):
        if not mine:
            continue
        times = tuple((w.start, w.end, w.word) for w in mine)
        if _letters(_join(mine)) == _letters(frame.text):
            retimed.append((frame.id, mine[0].start, max(w.end for w in mine), times))
        else:
            suggestions.append(Suggestion(frame.id, _join(mine), times))
    return Comparison(retimed, suggestions, _sentences(tail, language, len(frames)))


def _by_frame(frames: Sequence[FrameRecord], words: Sequence[Word]) -> list[list[Word]]:
    """Each word to the frame its middle falls in; the border between two frames is halfway
    through the pause between them."""
    borders = [(a.end + b.start) / 2 for a, b in itertools.pairwise(frames)]
    shares: list[list[Word]] = [[] for _ in frames]
    for word in words:
        middle = (word.start + word.end) / 2
        shares[sum(middle >= border for border in borders)].append(word)
    return shares


def _sentences(words: Sequence[Word], language: str, first: int) -> list[Sentence]:
    if not words:
        return []
    segment = Segment(0, words[0].start, words[-1].end, _join(words), tuple(words))
    return [
        Sentence(first + i, s.start, s.end, s.text, s.text, s.words)
        for i, s in enumerate(stream_sentences([segment], language))
    ]


def _join(words: Sequence[Word]) -> str:
    return re.sub(r"\s+", " ", "".join(w.word for w in words)).strip()


def _letters(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()
