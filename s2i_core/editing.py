"""The teacher's sentence edits: change text, merge, split, delete; and fixing one saved frame.

Pure functions over the engine's ``Sentence`` list; each returns a new, renumbered list.
Times stay consistent: a merge spans both sentences, a split cuts at the first word of the second
half (from Whisper's word times when the text still matches them, else in proportion to length).
Word times follow merges and splits, and are dropped from a sentence whose text no longer reads as
they were heard: the replay then highlights that sentence as a whole.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .errors import EditError
from .i18n import msg
from .storage import FrameRecord, Library, StoryRecord
from .story.drafts import frame_draft, sentence_of
from .story.revisions import save_frame
from .story.sentences import Sentence, joined_english

SPLIT_MARK = "/"


def edit_text(
    sentences: list[Sentence], i: int, text: str, text_en: str | None = None
) -> list[Sentence]:
    old = sentences[i]
    text = " ".join(text.split())
    if text_en is None:  # English stories: the prompt follows the sentence
        text_en = text if old.text_en in ("", old.text) else old.text_en
    changed = replace(old, text=text, text_en=" ".join(text_en.split()))
    return _renumber([*sentences[:i], _timed(changed), *sentences[i + 1 :]])


def merge_with_next(sentences: list[Sentence], i: int) -> list[Sentence]:
    if i + 1 >= len(sentences):
        return sentences
    first, second = sentences[i], sentences[i + 1]
    merged = replace(
        first,
        end=second.end,
        text=f"{first.text} {second.text}".strip(),
        text_en=joined_english(first.text_en, second.text_en),
        words=(*first.words, *second.words),
    )
    return _renumber([*sentences[:i], _timed(merged), *sentences[i + 2 :]])


def split(sentences: list[Sentence], i: int) -> list[Sentence]:
    """Cut sentence ``i`` where the teacher typed " / ", or else at the word nearest the middle."""
    old = sentences[i]
    head, tail = _halves(old.text)
    if not head or not tail:
        return sentences
    head_en, tail_en = _halves(old.text_en) if old.text_en != old.text else (head, tail)
    n_head = _words_in(old, head)
    if n_head:
        cut = float(old.words[n_head].start)
    else:
        share = len(head) / max(1, len(head) + len(tail))
        cut = round(old.start + (old.end - old.start) * share, 3)
    first = replace(old, end=cut, text=head, text_en=head_en, words=old.words[:n_head])
    second = replace(
        old, start=cut, text=tail, text_en=tail_en, words=old.words[n_head:], frame_id=None
    )  # a new frame: the first half stays the sentence's own
    return _renumber([*sentences[:i], _timed(first), _timed(second), *sentences[i + 1 :]])


def delete(sentences: list[Sentence], i: int) -> list[Sentence]:
    return _renumber([*sentences[:i], *sentences[i + 1 :]])


def _halves(text: str) -> tuple[str, str]:
    if SPLIT_MARK in text:
        head, _, tail = text.partition(SPLIT_MARK)
        return " ".join(head.split()), " ".join(tail.replace(SPLIT_MARK, " ").split())
    words = text.split()
    if len(words) < 2:
        return text, ""
    # The cut nearest the middle by characters, so "A very long word. Short" splits sensibly.
    total = len(text)
    best = min(range(1, len(words)), key=lambda k: abs(len(" ".join(words[:k])) - total / 2))
    return " ".join(words[:best]), " ".join(words[best:])


def _words_in(sentence: Sentence, head: str) -> int:
    """How many of the sentence's timed words speak ``head``; 0 when the cut falls inside a word
    or the words no longer match the text."""
    if not _words_fit(sentence):
        return 0
    wanted, spoken = _letters(head), ""
    for count, word in enumerate(sentence.words[:-1], start=1):
        spoken += _letters(_word_text(word))
        if spoken == wanted:
            return count
        if len(spoken) >= len(wanted):
            return 0
    return 0


def _timed(sentence: Sentence) -> Sentence:
    return sentence if _words_fit(sentence) else replace(sentence, words=())


def _words_fit(sentence: Sentence) -> bool:
    spoken = " ".join(_word_text(w) for w in sentence.words)
    return bool(sentence.words) and _letters(spoken) == _letters(
        sentence.text.replace(SPLIT_MARK, " ")
    )


def _word_text(word: object) -> str:
    return getattr(word, "word", None) or getattr(word, "text", "")


def _letters(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


def _renumber(sentences: list[Sentence]) -> list[Sentence]:
    return [s if s.index == n else replace(s, index=n) for n, s in enumerate(sentences)]


def reword_frame(
    library: Library,
    story: StoryRecord,
    frame_id: int,
    text: str,
    text_en: str | None = None,
    based_on: FrameRecord | None = None,
) -> FrameRecord:
    """Fix one frame of a saved story: new sentence (and English line), a prompt made from them
    as at the start, word times kept only while they still match. The picture is redrawn apart.

    ``text_en`` None: the English line follows the sentence (English stories). ``based_on``: the
    frame as the teacher's page showed it (default: as in ``story``); if another teacher changed
    the same words since, nothing is saved and EditConflictError says what they wrote."""
    base = based_on or next(f for f in story.frames if f.id == frame_id)
    if not text.strip():
        raise EditError(msg("A sentence cannot be empty. Type what the picture should show."))
    typed = {"text": " ".join(text.split())}
    if text_en is not None:
        typed["text_en"] = " ".join(text_en.split())

    def follow(now_story: StoryRecord, now: FrameRecord, mine: dict) -> dict:
        english = mine.get("text_en", None if text_en is None else now.text_en)
        [sentence] = edit_text([sentence_of(now)], 0, mine.get("text", now.text), english)
        draft = frame_draft(sentence, now.index, now_story)
        return {
            "text": draft.text,
            "text_en": draft.text_en,
            "prompt": draft.prompt,
            "words": draft.words,
        }

    saved = save_frame(library, story.id, base, typed, follow)
    texts = [f.text for f in library.get_story(story.id).frames]
    library.update_story(story.id, transcript=" ".join(texts))
    return saved
