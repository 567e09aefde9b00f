"""Which font sets each character, for the PDF and the video alike.

Small fonts are bundled in ``s2i_core/fonts/`` (see LICENSES.md there): DejaVu Sans for Latin,
Greek and Cyrillic, and Noto fonts for Devanagari, Arabic, Hebrew and Thai. Chinese, Japanese
and Korean need Noto Sans CJK, tens of megabytes, which comes from the Debian package
``fonts-noto-cjk`` (the README's setup installs it); its Japanese, Korean, Simplified or
Traditional Chinese face is chosen by the story's language, so each character has its
region's shape.

A piece of text gets a *main* face: that of its first letter in a script with a face of its
own (so a Hindi sentence is set in Noto Sans Devanagari, its Latin name in DejaVu Sans). Each
character the main face lacks takes its own script's face, or else any face that has it. A
character no face has is reported (``missing``, ``missing_note``) and printed as a box, never
dropped in silence.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fontTools.ttLib import TTFont
from fpdf.unicode_script import get_unicode_script
from icu4py.breakers import CharacterBreaker

from ..i18n import msg

if TYPE_CHECKING:
    from ..storage import StoryRecord

FONTS_DIR = Path(__file__).parent.parent / "fonts"
# Where distributions install Noto Sans CJK: Debian and Ubuntu (fonts-noto-cjk), Fedora
# (google-noto-sans-cjk-ttc-fonts), Arch (noto-fonts-cjk).
SYSTEM_FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/usr/share/fonts/noto-cjk"),
)
CJK_PACKAGE = "fonts-noto-cjk"
CJK_SCRIPTS = frozenset({"HAN", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"})
# The face of NotoSansCJK-*.ttc for each language (0 JP, 1 KR, 2 SC, 3 TC, 4 HK).
CJK_FACES = {"ja": 0, "ko": 1, "zh": 2, "zh-hans": 2, "zh-hant": 3, "zh-tw": 3, "zh-hk": 4}
CJK_FACE_FOR_OTHERS = 2  # Han characters in a story of another language: Simplified Chinese
TOFU = "\u25a1"  # □, drawn in place of a character no face has (DejaVu Sans has it)
# Characters that are never drawn on their own, so no font needs them.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")


@dataclass(frozen=True)
class Face:
    """One typeface in its styles: the files of each style ("" upright, "B" bold, "I" italic)."""

    name: str  # the family name the PDF knows it by
    scripts: frozenset[str]  # Unicode scripts this face is the first choice for
    files: tuple[tuple[str, Path], ...]  # (style, file); the first is the upright one
    index: int = 0  # the face's number inside a font collection (.ttc)

    def path(self, style: str = "") -> Path:
        """The file of ``style``, the upright one where the face has no such style."""
        return dict(self.files).get(style, self.files[0][1])

    def has_style(self, style: str) -> bool:
        return style in dict(self.files)

    @property
    def characters(self) -> frozenset[int]:
        return _cmap(self.files[0][1], self.index)

    def __contains__(self, char: str) -> bool:
        return ord(char) in self.characters


def _bundled(name: str, scripts: Iterable[str], *files: tuple[str, str]) -> Face:
    return Face(name, frozenset(scripts), tuple((s, FONTS_DIR / f) for s, f in files))


DEJAVU = _bundled(
    "dejavu",
    ("LATIN", "GREEK", "CYRILLIC", "COMMON"),
    ("", "DejaVuSans.ttf"),
    ("B", "DejaVuSans-Bold.ttf"),
    ("I", "DejaVuSans-Oblique.ttf"),
)
BUNDLED = (
    DEJAVU,
    _bundled(
        "notodevanagari",
        ("DEVANAGARI",),
        ("", "NotoSansDevanagari-Regular.ttf"),
        ("B", "NotoSansDevanagari-Bold.ttf"),
    ),
    _bundled(
        "notoarabic",
        ("ARABIC",),
        ("", "NotoSansArabic-Regular.ttf"),
        ("B", "NotoSansArabic-Bold.ttf"),
    ),
    _bundled(
        "notohebrew",
        ("HEBREW",),
        ("", "NotoSansHebrew-Regular.ttf"),
        ("B", "NotoSansHebrew-Bold.ttf"),
    ),
    _bundled(
        "notothai",
        ("THAI",),
        ("", "NotoLoopedThai-Regular.ttf"),  # looped: the letters Thai children learn to read
        ("B", "NotoLoopedThai-Bold.ttf"),
    ),
)


@dataclass(frozen=True)
class FontSet:
    """The faces one story is set in, DejaVu Sans first (the default)."""

    faces: tuple[Face, ...]
    language: str = ""  # the story's language code, for line breaking and CJK shapes
    _by_script: dict[str, Face] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for face in reversed(self.faces):
            self._by_script.update(dict.fromkeys(face.scripts, face))

    def __hash__(self) -> int:
        return hash((self.faces, self.language))

    def main_face(self, text: str) -> Face:
        """The face of the first letter whose script has a face of its own, else DejaVu."""
        for char in text:
            face = self._by_script.get(script(char))
            if face is not None and face is not self.faces[0]:
                return face
        return self.faces[0]

    def face_for(self, char: str, main: Face) -> Face | None:
        """The face that sets ``char`` in text whose main face is ``main``; None: no face has
        it."""
        if char in main:
            return main
        own = self._by_script.get(script(char))
        if own is not None and char in own:
            return own
        return next((face for face in self.faces if char in face), None)

    def missing(self, texts: Iterable[str]) -> str:
        """The characters of ``texts`` that no face has, each once, in order of appearance."""
        seen: dict[str, None] = {}
        for text in texts:
            for char in text:
                if char not in seen and _drawn(char) and self.face_for(char, self.faces[0]) is None:
                    seen[char] = None
        return "".join(seen)

    def printable(self, text: str) -> str:
        """``text`` with each character as the reader sees it (an emoji with its skin tone and
        joiners, a letter with its marks) that holds a character no face has replaced by one
        visible box, □: left to the font, it would print as nothing at all."""
        if not self.missing([text]):
            return text
        return "".join(
            TOFU if self.missing([cluster]) else cluster
            for cluster in CharacterBreaker(text, "und")
        )


def font_set(language: str = "") -> FontSet:
    """The faces for a story in ``language``: the bundled ones, and Noto Sans CJK where the
    computer has it."""
    language = (language or "").lower()
    faces = BUNDLED
    cjk = cjk_face(language)
    if cjk is not None:
        faces = (*faces, cjk)
    return FontSet(faces, language)


def cjk_face(language: str) -> Face | None:
    regular, bold = _system_file("NotoSansCJK-Regular.ttc"), _system_file("NotoSansCJK-Bold.ttc")
    if regular is None:
        return None
    index = CJK_FACES.get(language, CJK_FACES.get(language.split("-")[0], CJK_FACE_FOR_OTHERS))
    files = (("", regular),) + ((("B", bold),) if bold else ())
    return Face(f"notocjk{index}", CJK_SCRIPTS, files, index)


def unprintable(story: StoryRecord) -> str:
    """The characters of the story's title, class and sentences that no font here has."""
    texts = [story.title, story.class_name]
    texts += [text for frame in story.frames for text in (frame.text, frame.text_en)]
    return font_set(story.language).missing(texts)


def missing_note(story: StoryRecord) -> str | None:
    """What to tell the teacher before an export of ``story`` shows empty boxes; None: all is
    printable."""
    characters = unprintable(story)
    return missing_message(characters) if characters else None


def missing_message(characters: str) -> str:
    """What to tell the teacher about characters that print as empty boxes."""
    shown = " ".join(characters[:12]) + (" …" if len(characters) > 12 else "")
    if any(script(char) in CJK_SCRIPTS for char in characters):
        return msg(
            "Some characters of this story have no font on this computer and show as empty "
            "boxes in the PDF and the video: {shown}. Chinese, Japanese and Korean need the font "
            "package {package} (`sudo apt-get install {package}`, see the README); install it, "
            "then make the export again.",
            shown=shown,
            package=CJK_PACKAGE,
        )
    return msg(
        "Some characters of this story have no font on this computer and show as empty boxes "
        "in the PDF and the video: {shown}.",
        shown=shown,
    )


@lru_cache(maxsize=8192)
def script(char: str) -> str:
    """The Unicode script of ``char`` (Scripts.txt, as fpdf2 ships it): "LATIN", "HAN", ..."""
    return get_unicode_script(char).name


def _drawn(char: str) -> bool:
    """Whether ``char`` needs a glyph: not a space, control, joiner or variation selector."""
    if char.isspace() or char in INVISIBLE:
        return False
    if "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef":
        return False
    return unicodedata.category(char) not in ("Cc", "Cf")


@cache
def _cmap(path: Path, index: int) -> frozenset[int]:
    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap())


@cache
def _system_file(name: str) -> Path | None:
    return next((d / name for d in SYSTEM_FONT_DIRS if (d / name).is_file()), None)
