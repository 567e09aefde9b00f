"""A story's bible: who appears and how they look, and where the story happens.

Every picture of a story shares it, so characters look the same from frame to frame. The scene
writer writes one (``scene_writer``), the teacher's notes give one before it ran (``notes_bible``),
and a teacher may edit it (``scenes.set_bible``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LLM, OFFLINE, TEACHER = "llm", "offline", "teacher"  # who wrote a scene or a bible
MAX_LOOK_CHARS = 300
MAX_SETTING_CHARS = 300
MAX_CHARACTERS = 8


@dataclass(frozen=True)
class Character:
    name: str
    look: str


@dataclass(frozen=True)
class StoryBible:
    """What every picture of a story shares: who appears and how they look, and where it is."""

    characters: tuple[Character, ...] = ()
    setting: str = ""
    source: str = OFFLINE  # llm | offline | teacher: who wrote it last

    def to_json(self) -> dict[str, Any]:
        return {
            "characters": [{"name": c.name, "look": c.look} for c in self.characters],
            "setting": self.setting,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Any) -> StoryBible:
        if not isinstance(data, dict):
            return cls()
        characters = tuple(
            Character(plain(c.get("name", "")), plain(c.get("look", "")))
            for c in data.get("characters") or ()
            if isinstance(c, dict) and plain(c.get("name", ""))
        )
        return cls(characters, plain(data.get("setting", "")), str(data.get("source", OFFLINE)))

    def looks_named_in(self, scene: str) -> list[Character]:
        """The characters a scene mentions (by any word of their name), in the bible's order."""
        words = set(re.findall(r"\w+", scene.casefold()))
        return [c for c in self.characters if name_words(c.name) & words]


_NOT_NAMES = frozenset(
    "the a an it its they he she his her their this that there then once one in on at all we "
    "our my story everything everyone el la los las un una der die das ein eine le les".split()
)


def notes_bible(notes: str) -> StoryBible:
    """The teacher's notes as a bible: a sentence about someone named ("Rosie is a small red fox
    with a green scarf.") is that character's look; the other sentences are the setting."""
    characters: list[Character] = []
    setting: list[str] = []
    for sentence in re.split(r"(?<=[.!?;])\s+|\n+", notes):
        sentence = plain(sentence).rstrip(".;")
        if not sentence:
            continue
        name = _named_subject(sentence)
        if name and name.casefold() not in {c.name.casefold() for c in characters}:
            characters.append(Character(name, sentence[:MAX_LOOK_CHARS]))
        elif not name and sentence not in setting:
            setting.append(sentence)
    return StoryBible(tuple(characters[:MAX_CHARACTERS]), ". ".join(setting)[:MAX_SETTING_CHARS])


_NAMED_SUBJECT = re.compile(r"([A-ZÀ-Þ][\w'-]*(?: [A-ZÀ-Þ][\w'-]*)?)(?:,| is | has | was | wears )")


def _named_subject(sentence: str) -> str:
    match = _NAMED_SUBJECT.match(sentence)
    if not match or match.group(1).split()[0].casefold() in _NOT_NAMES:
        return ""
    return match.group(1)


def merge_bibles(kept: StoryBible, new: StoryBible) -> StoryBible:
    """``kept``'s characters and setting stay as they are; ``new`` only adds characters."""
    known = {c.name.casefold() for c in kept.characters}
    added = tuple(c for c in new.characters if c.name.casefold() not in known)
    characters = (kept.characters + added)[:MAX_CHARACTERS]
    return StoryBible(characters, kept.setting or new.setting, kept.source)


def plain(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def name_words(name: str) -> set[str]:
    return {w for w in re.findall(r"\w+", name.casefold()) if w not in _NOT_NAMES and len(w) > 1}
