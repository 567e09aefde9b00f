"""The read-along replay: narration audio, the current sentence's picture shown large, and the
sentence highlighted (word by word where word times exist), as one HTML page: self-contained (the
pictures and narration inlined), or with links the browser fetches them by (``story_replay_html``
with ``link``: a class opening the story then loads each file from a cache instead of receiving
it inside every student's page).

Everything a teacher typed (titles, sentences) reaches the page only as JSON inside a
``<script type="application/json">`` block, with ``<``, ``>`` and ``&`` escaped, and the script
puts it on screen with ``textContent`` and ``alt``, never as HTML.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from s2i_core.errors import StorageError
from s2i_core.exports.timeline import shown_picture
from s2i_core.replay_media import aspect_of, replay_copy, scaled_jpeg
from s2i_core.storage import Library, StoryRecord, narration_readable, picture_readable


@dataclass(frozen=True)
class ReplayWord:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class ReplayFrame:
    start: float
    end: float
    text: str
    image: bytes | str | None = None  # bytes, or a URL; None: the sentence is shown on a card
    image_mime: str = "image/jpeg"
    words: tuple[ReplayWord, ...] = field(default_factory=tuple)
    aspect: float | None = None  # width / height; read from the bytes when not given
    alt: str = ""  # what the picture shows (its scene), for screen readers; "" -> the sentence


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def words_fit(text: str, words: Sequence[ReplayWord]) -> bool:
    """Word timings are only usable while the sentence still reads as they were heard."""
    return bool(words) and _letters(" ".join(w.text for w in words)) == _letters(text)


def safe_json(value: object) -> str:
    """JSON that cannot end the surrounding <script> block or open a comment or CDATA."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def replay_html(
    frames: Sequence[ReplayFrame], audio: bytes | str | None, audio_mime: str, title: str
) -> str:
    """The page; ``audio`` is the narration's bytes or its URL (None: no narration)."""
    payload = {
        "title": title,
        "audio": _source(audio, audio_mime),
        "frames": [
            {
                "start": f.start,
                "end": f.end,
                "text": f.text,
                "image": _source(f.image, f.image_mime),
                "alt": f.alt or f.text,
                "aspect": f.aspect or _aspect(f.image),
                "words": [asdict(w) for w in f.words] if words_fit(f.text, f.words) else [],
            }
            for f in frames
        ],
    }
    return _PAGE.replace("__DATA__", safe_json(payload))


def _letters(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


def _source(media: bytes | str | None, mime: str) -> str:
    if isinstance(media, str):
        return media
    return data_uri(media, mime) if media else ""


def _aspect(image: bytes | str | None) -> float | None:
    """Width over height, so the stage takes the picture's shape and shows it without bars."""
    if not image or isinstance(image, str):
        return None
    with Image.open(io.BytesIO(image)) as picture:
        return round(picture.width / picture.height, 4)


# the page itself: markup, style and the player's script, with __DATA__ for the story
_PAGE = Path(__file__).with_name("replay.html").read_text(encoding="utf-8")


AUDIO_TYPES = {
    "webm": "audio/webm",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "flac": "audio/flac",
}


def story_replay_html(
    story: StoryRecord, library: Library, link: Callable[[str], str | None] | None = None
) -> str:
    """The replay page of a saved story. With ``link`` (a stored file's path relative to the data
    folder -> a URL the browser can fetch it by, or None), the pictures' replay-size copies (made
    once, see replay_media) and the narration are linked; anything it gives no URL for, and
    everything without it, is inlined (pictures scaled down first). A damaged picture file gives
    its frame the card, a damaged narration a replay without sound: the rest of the story plays
    (the story page tells the teacher which file)."""
    frames = []
    for frame in story.frames:
        picture = shown_picture(frame, library)
        readable = picture is not None and picture_readable(picture)
        image, aspect = _frame_image(picture, library, link) if readable else (None, None)
        words = tuple(ReplayWord(word.strip(), start, end) for start, end, word in frame.words)
        alt = frame.scene or frame.text_en or frame.text  # what the picture shows
        frames.append(ReplayFrame(frame.start, frame.end, frame.text, image, words=words,
                                  aspect=aspect, alt=alt))  # fmt: skip
    audio: bytes | str | None = None
    mime = "audio/webm"
    narration = _narration(story, library)
    if narration is not None:
        audio = (link and link(story.narration_path)) or narration.read_bytes()
        mime = AUDIO_TYPES.get(narration.suffix.lstrip(".").lower(), "audio/webm")
    return replay_html(frames, audio, mime, story.title)


def _narration(story: StoryRecord, library: Library) -> Path | None:
    if not story.narration_path:
        return None
    try:
        path = library.path(story.narration_path)
    except StorageError:  # a link out of the data folder
        return None
    return path if narration_readable(path) else None


def _frame_image(
    picture: Path, library: Library, link: Callable[[str], str | None] | None
) -> tuple[bytes | str | None, float | None]:
    try:
        if link is not None:
            try:
                copy = replay_copy(picture, library)
            except StorageError:  # not in a story's media folder: inlined, as before
                copy = None
            url = copy and link(copy)
            if url:
                return url, aspect_of(library.path(copy))
        return scaled_jpeg(picture.read_bytes()), None
    except OSError:  # changed on disk since it was checked: its card instead
        return None, None
