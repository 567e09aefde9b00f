"""The teacher's sentence edits before any picture is made: change text, merge, split, delete.

Pure functions over the engine's ``Sentence`` list; each returns a new, renumbered list.
Times stay consistent: a merge spans both sentences, a split cuts at the first word of the second
half (from Whisper's word times when the text still matches them, else in proportion to length).
"""

from __future__ import annotations

import re
from dataclasses import replace

from s2i_core.sentences import Sentence

SPLIT_MARK = "/"


def edit_text(
    sentences: list[Sentence], i: int, text: str, text_en: str | None = None
) -> list[Sentence]:
    old = sentences[i]
    text = " ".join(text.split())
    if text_en is None:  # English stories: the prompt follows the sentence
        text_en = text if old.text_en in ("", old.text) else old.text_en
    words = old.words if _letters(text) == _letters(old.text) else ()
    changed = replace(old, text=text, text_en=" ".join(text_en.split()), words=words)
    return _renumber([*sentences[:i], changed, *sentences[i + 1 :]])


def merge_with_next(sentences: list[Sentence], i: int) -> list[Sentence]:
    if i + 1 >= len(sentences):
        return sentences
    first, second = sentences[i], sentences[i + 1]
    merged = replace(
        first,
        end=second.end,
        text=f"{first.text} {second.text}".strip(),
        text_en=f"{first.text_en} {second.text_en}".strip(),
        words=(*first.words, *second.words),
    )
    return _renumber([*sentences[:i], merged, *sentences[i + 2 :]])


def split(sentences: list[Sentence], i: int) -> list[Sentence]:
    """Cut sentence ``i`` where the teacher typed " / ", or else at the word nearest the middle."""
    old = sentences[i]
    head, tail = _halves(old.text)
    if not head or not tail:
        return sentences
    head_en, tail_en = _halves(old.text_en) if old.text_en != old.text else (head, tail)
    cut = _cut_time(old, head, tail)
    n_head = len(head.split())
    first = replace(old, end=cut, text=head, text_en=head_en, words=old.words[:n_head])
    second = replace(old, start=cut, text=tail, text_en=tail_en, words=old.words[n_head:])
    if not _words_fit(old):
        first, second = replace(first, words=()), replace(second, words=())
    return _renumber([*sentences[:i], first, second, *sentences[i + 1 :]])


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


def _cut_time(sentence: Sentence, head: str, tail: str) -> float:
    n_head = len(head.split())
    if _words_fit(sentence) and 0 < n_head < len(sentence.words):
        return float(sentence.words[n_head].start)
    share = len(head) / max(1, len(head) + len(tail))
    return round(sentence.start + (sentence.end - sentence.start) * share, 3)


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
