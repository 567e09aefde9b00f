"""From a sentence to an image prompt: a style a teacher can name, story notes, classroom safety."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


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

# Words that stop a frame before anything is sent. Teachers can extend it in the app/CLI.
DEFAULT_BLOCKLIST: tuple[str, ...] = (
    "blood",
    "gore",
    "gun",
    "kill",
    "knife",
    "naked",
    "nude",
    "sex",
    "suicide",
)

MAX_PROMPT_CHARS = 900


def get_style(name: str | None) -> Style:
    return STYLES.get(name or DEFAULT_STYLE, STYLES[DEFAULT_STYLE])


def build_prompt(sentence_en: str, style: str | None = None, characters: str = "") -> str:
    """The prompt for one frame: story notes first (the same in every frame), then the scene."""
    parts = [_clean(characters), _clean(sentence_en), get_style(style).prompt]
    prompt = ". ".join(part.rstrip(". ") for part in parts if part)
    return prompt[:MAX_PROMPT_CHARS]


def blocked_reason(text: str, blocklist: tuple[str, ...] | list[str] = DEFAULT_BLOCKLIST) -> str:
    """Why a frame must not be sent, or "" when it may. Matches whole words, any case."""
    words = set(re.findall(r"\w+", _fold(text)))
    hits = sorted({w for w in (_fold(b) for b in blocklist if b.strip()) if w in words})
    if not hits:
        return ""
    return (
        f"Stopped by the classroom word list ({', '.join(hits)}). "
        "Edit the sentence or the word list, then generate this frame again."
    )


def parse_blocklist(text: str) -> tuple[str, ...]:
    """A teacher's comma- or line-separated word list."""
    return tuple(w.strip() for w in re.split(r"[,\n]", text) if w.strip())


def _clean(text: str) -> str:
    return " ".join(text.split())


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()
