"""Two teachers at once: a save changes only what its teacher changed, and never loses what the
other one saved meanwhile.

A save is based on what the teacher's page showed: the frames or the story it read, with their
versions (storage/versions.py). For each field it compares what the page showed (``base``), what
the teacher typed (``mine``) and what is saved now (``theirs``): a field only this teacher changed
is saved, one only the other changed is kept, and one both changed to different words is a
conflict. Then nothing of that save is written, and ``EditConflictError`` carries both versions,
so the teacher can keep theirs, keep the other teacher's, or merge the two (``resolve``). The
words that follow from a sentence (its prompt, its scene, its word times) follow the merged one.

The writing itself is compare-and-set on the versions read just before it: a save that lost that
race reads again and decides again (SAVE_TRIES), so two saves never interleave.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import EditConflictError, StaleVersionError
from ..i18n import N_, msg
from ..storage import FrameRecord, Library, SentenceEdits, StoryRecord
from .bible import TEACHER, StoryBible
from .drafts import frame_draft, sentence_of
from .scenes import keep_scenes, set_bible, story_bible
from .sentences import Sentence

SAVE_TRIES = 5  # saves lost to another save at the same moment, read again each time
TYPED = ("text", "text_en", "start", "end")  # what a sentence edit changes (times: merge, split)
KEEP_MINE, KEEP_THEIRS, MERGE = "mine", "theirs", "merge"  # a teacher's choice for a conflict
REMOVED = "sentence"  # a conflict's field when one of the two removed the sentence


@dataclass(frozen=True)
class Conflict:
    """One sentence, or one detail of the story, that two teachers changed at once."""

    fields: tuple[str, ...]  # what both changed ("text", "scene", "title", ...; REMOVED)
    place: int  # the sentence's number on this teacher's page, from 0; -1: the story's details
    base: FrameRecord | StoryRecord  # as this teacher's page showed it
    mine: Mapping[str, Any]  # what this teacher saved, by field; {}: this teacher removed it
    theirs: FrameRecord | StoryRecord | None  # as saved now; None: the other teacher removed it

    @property
    def field(self) -> str:
        """The field to show both versions of: the sentence's text, or the first detail."""
        return "text" if "text" in self.fields or REMOVED in self.fields else self.fields[0]

    def their_text(self) -> str:
        return "" if self.theirs is None else _shown(getattr(self.theirs, self.field, ""))

    def my_text(self) -> str:
        if not self.mine:
            return ""
        return _shown(self.mine.get(self.field, getattr(self.base, self.field, "")))

    def headline(self) -> str:
        """What happened, in one sentence without the texts (shown beside it)."""
        what = self._what()
        if self.theirs is None:
            return msg(
                "Another teacher removed {what} (merged or deleted it) while you changed it.",
                what=what,
            )
        if not self.mine:
            return msg("Another teacher changed {what} while you removed it.", what=what)
        return msg("Another teacher changed {what} meanwhile.", what=what)

    def describe(self) -> str:
        """The headline with the other teacher's words."""
        if self.theirs is None:
            return self.headline()
        words = self.their_text()
        if not self.mine:
            return msg(
                "Another teacher changed {what} while you removed it: “{words}”.",
                what=self._what(),
                words=words,
            )
        return msg(
            "Another teacher changed {what} meanwhile: “{words}”.", what=self._what(), words=words
        )

    def _what(self) -> str:
        """The sentence, or the detail, as a headline names it."""
        if self.place < 0:
            if self.field in _DETAILS:
                return msg(_DETAILS[self.field])
            return msg("the {name}", name=self.field)
        n = self.place + 1
        if self.field in _OF_SENTENCE:
            return msg(_OF_SENTENCE[self.field], n=n)
        return msg("the {name} of sentence {n}", name=self.field, n=n)


_OF_SENTENCE = {  # what a headline calls a sentence's field, by field
    "text": N_("sentence {n}"),
    "text_en": N_("the English line of sentence {n}"),
    "scene": N_("the scene of sentence {n}"),
    "prompt": N_("the picture prompt of sentence {n}"),
}
_DETAILS = {  # what a headline calls a story's detail
    "title": N_("the title"),
    "bible": N_("the characters and setting"),
}


def conflict_error(conflicts: Iterable[Conflict]) -> EditConflictError:
    conflicts = tuple(conflicts)
    lines = " ".join(c.describe() for c in conflicts)
    return EditConflictError(
        msg(
            "{lines} Nothing was overwritten. Keep yours, keep theirs, or merge the two.",
            lines=lines,
        ),
        conflicts,
    )


def clashes(base: Any, mine: Mapping[str, Any], theirs: Any) -> tuple[str, ...]:
    """The fields of ``mine`` that the other save changed too, to something else."""
    return tuple(
        name
        for name, value in mine.items()
        if getattr(theirs, name) != getattr(base, name) and getattr(theirs, name) != value
    )


def typed_changes(base: Any, typed: Mapping[str, Any]) -> dict[str, Any]:
    """What the teacher changed: the typed values that differ from what the page showed."""
    return {name: value for name, value in typed.items() if value != getattr(base, name)}


# --- one frame (the story page) ------------------------------------------------------------------
Follow = Callable[[StoryRecord, FrameRecord, dict[str, Any]], dict[str, Any]]


def check_frame(
    story: StoryRecord, based_on: FrameRecord, typed: Mapping[str, Any]
) -> tuple[FrameRecord, dict[str, Any]]:
    """The frame as saved now and what the teacher changed in it; EditConflictError when another
    save removed it or changed one of those fields differently since the page showed it."""
    mine = typed_changes(based_on, typed)
    now = next((f for f in story.frames if f.id == based_on.id), None)
    if now is None:
        raise conflict_error([Conflict((REMOVED,), based_on.index, based_on, mine, None)])
    fields = clashes(based_on, mine, now)
    if fields:
        raise conflict_error([Conflict(fields, now.index, based_on, mine, now)])
    return now, mine


def save_frame(
    library: Library,
    story_id: int,
    based_on: FrameRecord,
    typed: Mapping[str, Any],
    follow: Follow | None = None,
) -> FrameRecord:
    """Save what the teacher typed into one frame (``typed``: each field as the form holds it;
    only those differing from ``based_on`` are the teacher's), with ``follow``'s words that go
    with them (a prompt, word times), on the frame as saved now."""
    for _ in range(SAVE_TRIES):
        story = library.get_story(story_id)
        now, mine = check_frame(story, based_on, typed)
        if not mine:
            return now
        values = follow(story, now, mine) if follow else mine
        try:
            return library.save_frame_words(now.id, now.version, **values)
        except StaleVersionError:
            continue
    raise StaleVersionError(_busy("sentence"))


def save_story(
    library: Library, based_on: StoryRecord, compare: Mapping[str, Any], **typed: Any
) -> StoryRecord:
    """Save story details (title, bible, ...) the teacher changed since ``based_on``. A detail is
    compared as ``compare[name]`` reads it (the bible by its characters and setting, not by the
    writer's notes beside them), else as stored."""
    view = _Compared(compare)
    for _ in range(SAVE_TRIES):
        now = library.get_story(based_on.id)
        mine = {n: v for n, v in typed.items() if view.of(n, v) != view.get(based_on, n)}
        mine_view = {n: view.of(n, v) for n, v in mine.items()}
        fields = tuple(
            n
            for n, v in mine_view.items()
            if view.get(now, n) != view.get(based_on, n) and view.get(now, n) != v
        )
        if fields:
            raise conflict_error([Conflict(fields, -1, based_on, mine, now)])
        if not mine:
            return now
        try:
            return library.save_story_details(now.id, now.version, **mine)
        except StaleVersionError:
            continue
    raise StaleVersionError(_busy("story"))


def save_bible(library: Library, based_on: StoryRecord, bible: StoryBible) -> StoryRecord:
    """The teacher's characters and setting (every prompt rebuilt from them), unless another
    teacher saved other ones since ``based_on``: then EditConflictError. Compared by what they
    say, not by who wrote them or the writer's notes beside them."""
    now = library.get_story(based_on.id)
    old, theirs = _people(story_bible(based_on)), _people(story_bible(now))
    if _people(bible) != old and theirs not in (old, _people(bible)):
        mine = {"bible": replace(bible, source=TEACHER).to_json()}
        raise conflict_error([Conflict(("bible",), -1, based_on, mine, now)])
    return set_bible(library, based_on.id, bible)


def _people(bible: StoryBible) -> tuple:
    return bible.characters, bible.setting


@dataclass(frozen=True)
class _Compared:
    readers: Mapping[str, Callable[[Any], Any]]

    def of(self, name: str, value: Any) -> Any:
        return self.readers[name](value) if name in self.readers else value

    def get(self, record: Any, name: str) -> Any:
        return self.of(name, getattr(record, name))


# --- the sentences of a draft (the Create page) ------------------------------------------------
def save_sentences(
    library: Library, story_id: int, base: Mapping[int, FrameRecord], sentences: list[Sentence]
) -> StoryRecord:
    """Save a draft's edited sentences: each tied to the frame it was read from (``base``, as
    the page showed them; ``frame_id`` None: a new one), a frame of ``base`` without a sentence
    is removed (merged, deleted). Frames another teacher added are kept; the story as saved is
    returned, every teacher's changes in it."""
    for _ in range(SAVE_TRIES):
        story = library.get_story(story_id)
        edits = sentence_edits(story, base, sentences)
        if not (edits.expected or edits.inserts):
            return story
        try:
            return library.save_sentences(edits)
        except StaleVersionError:
            continue
    raise StaleVersionError(_busy("sentences"))


def sentence_edits(
    story: StoryRecord, base: Mapping[int, FrameRecord], sentences: list[Sentence]
) -> SentenceEdits:
    """What saving ``sentences`` changes in ``story`` as it is saved now; EditConflictError
    (every conflict at once) when another save changed the same sentences differently."""
    now = {frame.id: frame for frame in story.frames}
    kept = {s.frame_id for s in sentences if s.frame_id in base}
    conflicts: list[Conflict] = []
    expected: dict[int, int] = {}
    updates: dict[int, dict[str, Any]] = {}
    for place, sentence in enumerate(sentences):
        if sentence.frame_id not in base:
            continue
        old, current = base[sentence.frame_id], now.get(sentence.frame_id)
        mine = typed_changes(old, _typed(sentence))
        if not mine:
            continue
        if current is None:
            conflicts.append(Conflict((REMOVED,), place, old, mine, None))
        elif fields := clashes(old, mine, current):
            conflicts.append(Conflict(fields, place, old, mine, current))
        else:
            expected[current.id] = current.version
            updates[current.id] = _updated(story, current, sentence, mine)
    deletes = []
    for frame_id in base.keys() - kept:
        old, current = base[frame_id], now.get(frame_id)
        if current is None:
            continue  # removed by both
        if any(getattr(current, n) != getattr(old, n) for n in ("text", "text_en")):
            conflicts.append(Conflict((REMOVED,), old.index, old, {}, current))
        else:
            expected[frame_id] = current.version
            deletes.append(frame_id)
    if conflicts:
        raise conflict_error(conflicts)
    new = [s for s in sentences if s.frame_id not in base]
    inserts = keep_scenes(story, [frame_draft(s, -1, story) for s in new])
    return SentenceEdits(story.id, expected, updates, tuple(deletes), tuple(inserts))


def _typed(sentence: Sentence) -> dict[str, Any]:
    return {name: getattr(sentence, name) for name in TYPED}


def _updated(
    story: StoryRecord, current: FrameRecord, sentence: Sentence, mine: Mapping[str, Any]
) -> dict[str, Any]:
    """The frame's new words: this teacher's fields over the frame as saved now, and the words
    that follow from them (a changed sentence has its scene written again, as keep_scenes says)."""
    merged = replace(sentence_of(current), **mine)
    if "start" in mine or "end" in mine or "text" in mine:
        merged = replace(merged, words=sentence.words)
    [draft] = keep_scenes(story, [frame_draft(merged, current.index, story)])
    return {name: getattr(draft, name) for name in _WORDS}


_WORDS = ("start", "end", "text", "text_en", "prompt", "words", "scene", "scene_source")


# --- choosing after a conflict -----------------------------------------------------------------
def resolve(
    base: Mapping[int, FrameRecord],
    sentences: list[Sentence],
    conflict: Conflict,
    choice: str,
    text: str | None = None,
) -> tuple[dict[int, FrameRecord], list[Sentence]]:
    """A draft's base and sentences after the teacher's ``choice`` for one conflict (``text``: the
    merged sentence, with MERGE): save them again and that conflict is gone."""
    old, theirs = conflict.base, conflict.theirs
    base = dict(base)
    mine = next((s for s in sentences if s.frame_id == old.id), None)
    rest = [s for s in sentences if s.frame_id != old.id]
    if isinstance(theirs, FrameRecord):
        base[old.id] = theirs  # as if this teacher's page had shown what is saved now
    else:
        base.pop(old.id, None)
    if choice == KEEP_THEIRS or mine is None:  # theirs, or removed as this teacher removed it
        chosen = sentence_of(theirs) if choice == KEEP_THEIRS and theirs else None
    elif not isinstance(theirs, FrameRecord):  # they removed it: this teacher's comes back
        chosen = replace(mine, frame_id=None)
    else:  # this teacher's changes over theirs; their other changes stay
        changes = typed_changes(old, _typed(mine))
        chosen = replace(sentence_of(theirs), **changes)
        if changes.keys() & {"text", "start", "end"}:
            chosen = replace(chosen, words=mine.words)
    if chosen is not None and choice == MERGE and text is not None:
        chosen = replace(chosen, text=" ".join(text.split()))
    ordered = sorted([*rest, *([chosen] if chosen else [])], key=lambda s: (s.start, s.end))
    return base, [replace(s, index=n) for n, s in enumerate(ordered)]


def merge_text(base: str, mine: str, theirs: str) -> str:
    """Both teachers' changes to one sentence in one text, word by word, where they changed
    different words; where they changed the same words, theirs then mine (for the teacher to
    finish by hand)."""
    old, a, b = base.split(), mine.split(), theirs.split()
    mine_edits, their_edits = _edits(old, a), _edits(old, b)
    if any(_overlap(x, y) for x in mine_edits for y in their_edits):
        return theirs if a == old else mine if b == old else f"{theirs} {mine}"
    words = list(old)
    for start, end, new in sorted(mine_edits + their_edits, reverse=True):
        words[start:end] = new
    return " ".join(words)


def _edits(old: list[str], new: list[str]) -> list[tuple[int, int, list[str]]]:
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [(i1, i2, new[j1:j2]) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]


def _overlap(x: tuple[int, int, list[str]], y: tuple[int, int, list[str]]) -> bool:
    (a1, a2, _), (b1, b2, _) = x, y
    return (a1 < b2 and b1 < a2) or a1 == b1  # the same words, or two insertions at one place


def _shown(value: Any) -> str:
    """A field as the teacher reads it (a bible: its characters and setting, in one line)."""
    if isinstance(value, dict):
        bible = StoryBible.from_json(value)
        people = [f"{c.name}: {c.look}" if c.look else c.name for c in bible.characters]
        return "; ".join([*people, *([f"Setting: {bible.setting}"] if bible.setting else [])])
    return value if isinstance(value, str) else ""


def _busy(what: str) -> str:
    return (
        f"The {what} kept changing while this was being saved (other teachers are editing it "
        "too). Nothing was lost: try again in a moment."
    )
