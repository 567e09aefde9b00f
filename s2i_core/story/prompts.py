"""From a scene to an image prompt: a style a teacher can name, a token budget, classroom safety."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from .. import wordlist
from ..pictures import prompt_tokens
from .bible import StoryBible


@dataclass(frozen=True)
class Style:
    name: str
    label: str
    description: str
    prompt: str


STYLES: dict[str, Style] = {
    style.name: style
    for style in (
        Style(
            "storybook",
            "Storybook watercolour",
            "Soft watercolour pictures like a children's picture book.",
            "children's storybook illustration, soft watercolour, gentle colours, warm light",
        ),
        Style(
            "crayon",
            "Crayon drawing",
            "Bright crayon drawings, as if a pupil drew them.",
            "crayon drawing on paper, bold strokes, bright colours, naive child-like art",
        ),
        Style(
            "comic",
            "Comic strip",
            "Clean lines and flat colours, like a comic book panel.",
            "comic book panel, clean ink outlines, flat bright colours, expressive",
        ),
        Style(
            "clay",
            "Clay model",
            "Friendly plasticine figures, like a stop-motion film.",
            "claymation diorama, plasticine figures, soft studio lighting, playful",
        ),
        Style(
            "photo",
            "Photograph",
            "Realistic photographs.",
            "realistic photograph, natural light, detailed, family friendly",
        ),
        Style(
            "pixel",
            "Pixel art",
            "Chunky pixels, like an old video game.",
            "pixel art, 16-bit video game style, crisp pixels, vivid palette",
        ),
    )
}
DEFAULT_STYLE = "storybook"

NEGATIVE_PROMPT = (
    "violence, blood, gore, weapons, nudity, sexual content, horror, scary, disturbing, "
    "drugs, alcohol, smoking, text, watermark, signature, deformed, blurry"
)

# A teacher's own words, on top of the school's list, which always applies (s2i_core/wordlist).
DEFAULT_BLOCKLIST: tuple[str, ...] = ()

MAX_PROMPT_CHARS = 2000  # a safety net; the model's token budget is what shapes a prompt
MIN_PIECE_TOKENS = 4  # a look or setting cut shorter than this is left out instead


def get_style(name: str | None) -> Style:
    return STYLES.get(name or DEFAULT_STYLE, STYLES[DEFAULT_STYLE])


# --- prompts built to a budget -----------------------------------------------------------------
def build_prompt(
    scene: str,
    style: str | None = None,
    bible: StoryBible | None = None,
    model: str | None = None,
) -> str:
    """One frame's prompt, most important first, within what the model's text encoder reads:
    the scene, then the looks of the characters it names, then the setting, then the style.
    Whatever does not fit is left out from the end, so notes can never push the scene out."""
    budget = prompt_budget(model)
    style_words = get_style(style).prompt.split(", ")
    prompt = _BudgetedPrompt(budget)
    scene = _clean(scene).rstrip(". ")
    prompt.add(scene, min_tokens=1)
    # the looks and the setting each get a share, and leave room for the style's first words
    share = max(MIN_PIECE_TOKENS, budget // 3)
    prompt.budget = budget - clip_tokens(style_words[0]) - 1
    bible = bible or StoryBible()
    for character in bible.looks_named_in(scene):
        prompt.add(_look_phrase(character.name, character.look), limit=share)
    prompt.add(_clean(bible.setting).rstrip(". "), limit=share)
    prompt.budget = budget
    for item in style_words:
        prompt.add_style(item)
    return prompt.text()[:MAX_PROMPT_CHARS]


class _BudgetedPrompt:
    """Sentences joined by ". ", then the style's words joined by ", ", within ``budget`` tokens."""

    def __init__(self, budget: int):
        self.budget = budget
        self.sentences: list[str] = []
        self.style: list[str] = []

    def text(self, sentences: list[str] | None = None, style: list[str] | None = None) -> str:
        parts = list(self.sentences if sentences is None else sentences)
        style = self.style if style is None else style
        return ". ".join([*parts, ", ".join(style)] if style else parts)

    def fits(self, sentences: list[str], style: list[str] | None = None) -> bool:
        return clip_tokens(self.text(sentences, style)) <= self.budget

    def add(self, piece: str, min_tokens: int = MIN_PIECE_TOKENS, limit: int = 0) -> None:
        """Add ``piece``, or as many of its first words as fit (within ``limit`` tokens, if
        given) when that is at least ``min_tokens`` tokens (or all of a shorter piece)."""
        if not piece:
            return
        words = piece.split()

        def fits(count: int) -> bool:
            text = " ".join(words[:count])
            within = not limit or clip_tokens(text) <= limit
            return within and self.fits([*self.sentences, text])

        low, high = 0, len(words)
        while low < high:  # the most words that fit
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        fitted = " ".join(words[:low]).rstrip(",;:")
        if fitted and clip_tokens(fitted) >= min(min_tokens, clip_tokens(piece)):
            self.sentences.append(fitted)

    def add_style(self, item: str) -> None:
        if self.fits(self.sentences, [*self.style, item]):
            self.style.append(item)


def prompt_budget(model: str | None) -> int:
    """Tokens (counted the way CLIP counts them) that the model's text encoder reads: what its
    entry in the picture catalogue says (CLIP's 75 for a model no backend knows)."""
    return prompt_tokens(model)


def clip_tokens(text: str) -> int:
    """How many tokens CLIP's tokenizer makes of ``text`` (start and end markers not counted)."""
    return len(_clip_tokenizer().encode(text))


@functools.cache
def _clip_tokenizer() -> Any:
    import instant_clip_tokenizer  # CLIP's own BPE vocabulary, bundled: no download

    return instant_clip_tokenizer.Tokenizer()


def _look_phrase(name: str, look: str) -> str:
    look = _clean(look).rstrip(". ")
    if not look:
        return ""
    return look if name.casefold() in look.casefold() else f"{name}, {look}"


# --- the classroom word list: s2i_core/wordlist ---------------------------------------------------
def blocked_reason(
    text: str,
    blocklist: tuple[str, ...] | list[str] = DEFAULT_BLOCKLIST,
    language: str = "en",
) -> str:
    """Why a text must not be drawn (the school's list and ``blocklist``), or "" when it may."""
    return wordlist.stop_reason(text, blocklist, language)


WordList = wordlist.WordList
WORD_LIST_SETTING = wordlist.WORD_LIST_SETTING


def classroom_word_list(library: Any) -> tuple[str, ...]:
    return wordlist.classroom_words(library)


def parse_blocklist(text: str) -> tuple[str, ...]:
    return wordlist.parse_words(text)


def _clean(text: str) -> str:
    return " ".join(text.split())
