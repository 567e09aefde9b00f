"""The scene writer: every frame's picture described in English, self-contained and consistent.

One chat-completions request to NVIDIA's OpenAI-compatible LLM endpoint (through the ``openai``
client) turns the sentences as spoken into a story bible (characters with their looks, the
setting) and, per sentence, a faithful English line and a scene: who does what, where, with
names and pronouns resolved. The answer must be exactly::

    {"characters": [{"name": str, "look": str}], "setting": str,
     "frames": [{"index": int, "english": str, "scene": str}]}

Whatever the model gets wrong falls back as narrowly as possible: a bad frame entry falls back for
that frame only, text that is not JSON is asked for once more, and 429/5xx follow the client's
retry policy. When nothing usable comes back (no key, ``S2I_LLM=off``, errors, or no answer within
``llm_timeout``), the offline path writes the scenes: the English line from Whisper's translation,
scene = English line, character looks from the teacher's notes. Each frame says which path wrote it.

``SceneJob`` runs the writer in the background from the moment the transcript is ready, so it
rarely adds waiting: pictures wait for it at most ``llm_timeout`` seconds from its start.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import jsonschema

from ..errors import NotJSONError, SceneWriterError, SceneWriterUnavailableError
from ..settings import Settings
from .bible import (
    LLM,
    MAX_CHARACTERS,
    MAX_LOOK_CHARS,
    MAX_SETTING_CHARS,
    OFFLINE,
    Character,
    StoryBible,
    merge_bibles,
    notes_bible,
    plain,
)
from .prompts import clip_tokens

OFFLINE_NOTICE = (
    "The pictures use the offline scenes: Whisper's English lines where they could be trusted "
    "(the other sentences wait for an English line)."
)
MAX_PART_SENTENCES = 12  # longer stories go in parts, each told the characters found so far
MAX_SCENE_WORDS = 60  # the model is asked for about 40; longer answers are cut at a word
CLIENT_RETRIES = 2  # the openai client's own retries of 429, 5xx and timeouts, with backoff

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["characters", "setting", "frames"],
    "properties": {
        "characters": {"type": "array"},
        "setting": {"type": "string"},
        "frames": {"type": "array"},
    },
}
CHARACTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "look"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "pattern": r"\S"},
        "look": {"type": "string"},
    },
}
FRAME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["index", "english", "scene"],
    "properties": {
        "index": {"type": "integer"},
        "english": {"type": "string", "pattern": r"\S"},
        "scene": {"type": "string", "pattern": r"\S"},
    },
}

SYSTEM_PROMPT = """\
You help a primary-school teacher turn a story told out loud into a picture book. You get the \
story's sentences as spoken (possibly in another language, possibly with speech-recognition \
mistakes), the teacher's notes and the picture style. Answer with one JSON object and nothing \
else (no prose, no code fences), exactly in this shape:
{"characters": [{"name": "...", "look": "..."}], "setting": "...", \
"frames": [{"index": 0, "english": "...", "scene": "..."}]}
Rules:
- "characters": every character who appears, with one fixed "look" (species or kind, age, \
clothes, colours) that stays the same in every picture. Use the notes; invent a simple look when \
they say nothing. Keep the looks of the known characters you are given exactly as they are.
- "setting": where and when the story happens, in one short phrase.
- "frames": one entry per sentence you are asked for, with its "index" as given. "english" is a \
faithful English translation of the sentence (the sentence itself when it is already English). \
"scene" is one self-contained English description of what the picture shows: who (by name), \
doing what, where. Resolve every pronoun and name; at most 40 words; suitable for children.\
"""


# --- records -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameScene:
    index: int
    english: str  # the sentence in English: shown to the teacher and printed in the PDF
    scene: str  # what the picture shows, in English, self-contained
    source: str = OFFLINE  # llm | offline | teacher


@dataclass(frozen=True)
class SceneRequest:
    """What the writer is told about one story."""

    title: str
    language: str  # the story's language code ("es"); "en" needs no translation
    sentences: tuple[str, ...]  # as spoken (and as the teacher corrected them)
    english: tuple[str, ...] = ()  # the offline English lines (Whisper's translation), per sentence
    notes: str = ""  # the teacher's notes on characters and setting
    style: str = ""  # the picture style's words, for the model's sense of the look
    bible: StoryBible | None = None  # known characters to keep (a redo, or a story's later part)
    only: tuple[int, ...] | None = None  # write just these frames (an edited sentence)

    @property
    def english_lines(self) -> tuple[str, ...]:
        return tuple(self.english_for(i) for i in range(len(self.sentences)))

    def english_for(self, index: int) -> str:
        """The offline English line: Whisper's (checked), the sentence itself in an English
        story, else "" (none to trust)."""
        if index < len(self.english) and self.english[index].strip():
            return self.english[index]
        return self.sentences[index] if self.language.lower().startswith("en") else ""

    @property
    def wanted(self) -> tuple[int, ...]:
        every = range(len(self.sentences))
        return tuple(i for i in every if self.only is None or i in self.only)


@dataclass(frozen=True)
class Scenes:
    """The writer's result for a story: its bible and one scene per wanted frame."""

    bible: StoryBible
    frames: tuple[FrameScene, ...]
    path: str  # llm: every frame from the LLM | mixed | offline
    notice: str = ""  # for the teacher: why some or all frames took the offline path
    seconds: float = 0.0  # time the writer took (or was waited for)
    # why the LLM could not be asked at all (down, busy, unreachable, no answer in time): asked
    # again later, it may write them; "" when it answered or is not set up
    unavailable: str = ""

    def frame(self, index: int) -> FrameScene | None:
        return next((f for f in self.frames if f.index == index), None)


# --- the writer --------------------------------------------------------------------------------
Transport = Callable[[list[dict[str, str]], int], str]  # (messages, max_tokens) -> answer text


class SceneWriter:
    """Asks the LLM for a story's bible and scenes; never raises for the LLM's faults."""

    def __init__(self, settings: Settings, transport: Transport | None = None):
        self.settings = settings
        self._transport = transport or OpenAITransport(settings)

    def write(self, request: SceneRequest) -> Scenes:
        started = time.monotonic()
        if not request.sentences:
            return Scenes(request.bible or notes_bible(request.notes), (), OFFLINE)
        parts = _parts(request.wanted, MAX_PART_SENTENCES)
        bible = request.bible
        written: dict[int, FrameScene] = {}
        problems: list[SceneWriterError] = []
        for part in parts:  # in order: each part is told the characters found so far
            try:
                answer = self._ask(replace(request, bible=bible, only=part))
            except SceneWriterError as error:
                problems.append(error)
                continue
            bible = merge_bibles(bible, answer.bible) if bible else answer.bible
            written.update({f.index: f for f in answer.frames if f.index in part})
        return _assemble(request, bible, written, problems, time.monotonic() - started)

    def _ask(self, request: SceneRequest) -> Scenes:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": _user_message(request)},
        ]
        max_tokens = min(4096, 400 + 160 * len(request.wanted))
        text = self._transport(messages, max_tokens)
        try:
            return parse_answer(text, request)
        except NotJSONError as error:
            if not error.retryable:
                raise
            messages += [
                {"role": "assistant", "content": text[:4000]},
                {"role": "user", "content": f"{error} Answer again with the JSON object only."},
            ]
            return parse_answer(self._transport(messages, max_tokens), request)


class OpenAITransport:
    """One chat-completions call through the ``openai`` client (its retry policy for 429/5xx)."""

    def __init__(self, settings: Settings, max_retries: int = CLIENT_RETRIES):
        from openai import OpenAI  # imported here: the offline path never needs it

        self.model = settings.llm_model
        self.client = OpenAI(
            api_key=settings.nvidia_api_key,
            base_url=settings.llm_base_url,
            timeout=settings.llm_timeout,
            max_retries=max_retries,
        )

    def __call__(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        import openai

        try:
            answer = self.client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=0.2,
                top_p=0.7,
                max_tokens=max_tokens,
                stream=False,
            )
        except openai.APIStatusError as error:
            status = error.status_code
            down = status == 429 or status >= 500  # it may answer later; a refusal will not
            fault = SceneWriterUnavailableError if down else SceneWriterError
            raise fault(_status_message(status)) from None
        except openai.APITimeoutError:
            raise SceneWriterUnavailableError(
                "The scene writer's LLM service did not answer in time."
            ) from None
        except openai.APIConnectionError:  # no connection at all: not waited for (offline)
            raise SceneWriterError(
                "The scene writer could not reach the LLM service (no connection)."
            ) from None
        choice = answer.choices[0] if answer.choices else None
        return (choice.message.content or "") if choice else ""


def _status_message(status: int) -> str:
    reasons = {
        401: "the NVIDIA API key was refused",
        403: "the NVIDIA API key may not use this model",
        404: "the LLM model is not available (check S2I_LLM_MODEL)",
        422: "the LLM service refused the request",
        429: "the LLM service is busy (rate limited)",
    }
    reason = reasons.get(status, f"the LLM service failed (HTTP {status})")
    return f"The scene writer got no scenes: {reason}."


# --- parsing the answer ------------------------------------------------------------------------
def parse_answer(text: str, request: SceneRequest) -> Scenes:
    """The model's answer as a bible and the valid frames of ``request.wanted``.

    Raises ``NotJSONError`` when the text holds no JSON object of the right shape. Frame entries
    that are invalid or for indexes that do not exist are left out (the caller falls back for
    those frames only); invalid characters are dropped one by one."""
    data = _json_object(text)
    try:
        jsonschema.validate(data, ANSWER_SCHEMA)
    except jsonschema.ValidationError as error:
        raise NotJSONError(
            f"The scene writer's answer did not have the asked shape ({error.message})."
        ) from None
    characters = []
    for entry in data["characters"][:MAX_CHARACTERS]:
        if _valid(entry, CHARACTER_SCHEMA):
            name, look = plain(entry["name"])[:80], plain(entry["look"])[:MAX_LOOK_CHARS]
            if name.casefold() not in {c.name.casefold() for c in characters}:
                characters.append(Character(name, look))
    bible = StoryBible(tuple(characters), plain(data["setting"])[:MAX_SETTING_CHARS], LLM)
    wanted = set(request.wanted)
    frames: dict[int, FrameScene] = {}
    for entry in data["frames"]:
        if _valid(entry, FRAME_SCHEMA) and entry["index"] in wanted:
            index = int(entry["index"])
            english, scene = plain(entry["english"]), _words(entry["scene"], MAX_SCENE_WORDS)
            frames.setdefault(index, FrameScene(index, english, scene, LLM))
    return Scenes(bible, tuple(frames[i] for i in sorted(frames)), LLM)


def _json_object(text: str) -> Any:
    cleaned = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text or "", flags=re.IGNORECASE)
    try:
        return json.loads(cleaned)
    except ValueError:
        pass
    first, last = cleaned.find("{"), cleaned.rfind("}")  # prose around the object
    if 0 <= first < last:
        try:
            return json.loads(cleaned[first : last + 1])
        except ValueError:
            pass
    raise NotJSONError("The scene writer's answer was not a JSON object.")


def _valid(entry: Any, schema: dict[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(entry)


# --- the offline path --------------------------------------------------------------------------
def offline_scenes(request: SceneRequest, notice: str = "") -> Scenes:
    """No LLM: the English line is Whisper's translation, the scene is that line, and the
    characters' looks come from the teacher's notes. A sentence with no English line to trust
    gets no scene (it waits for the writer or the teacher)."""
    bible = request.bible or notes_bible(request.notes)
    frames = tuple(_offline_frame(request, i) for i in request.wanted if request.english_for(i))
    return Scenes(bible, frames, OFFLINE, notice)


def _offline_frame(request: SceneRequest, index: int) -> FrameScene:
    english = plain(request.english_for(index))
    return FrameScene(index, english, _words(english, MAX_SCENE_WORDS), OFFLINE)


# --- putting a story together ------------------------------------------------------------------
def _assemble(
    request: SceneRequest,
    bible: StoryBible | None,
    written: dict[int, FrameScene],
    problems: list[SceneWriterError],
    seconds: float,
) -> Scenes:
    fallback = offline_scenes(request)
    frames = tuple(f for i in request.wanted if (f := written.get(i) or fallback.frame(i)))
    missing = [i for i in request.wanted if i not in written]
    if not written:
        reason = str(problems[0]) if problems else "The scene writer's answer had no usable frames."
        notice = f"{reason} {OFFLINE_NOTICE}"
        down = next((str(p) for p in problems if isinstance(p, SceneWriterUnavailableError)), "")
        return replace(fallback, notice=notice, seconds=seconds, unavailable=down)
    bible = bible or fallback.bible
    if not missing:
        return Scenes(bible, frames, LLM, "", seconds)  # type: ignore[arg-type]
    numbers = ", ".join(str(i + 1) for i in missing)
    notice = f"The scene writer gave no usable scene for sentence(s) {numbers}; those use the "
    notice += "offline scene (the English line)."
    return Scenes(bible, frames, "mixed", notice, seconds)  # type: ignore[arg-type]


def _user_message(request: SceneRequest) -> str:
    story: dict[str, Any] = {
        "title": request.title,
        "language": request.language,
        "teacher_notes": request.notes,
        "picture_style": request.style,
        "sentences": [{"index": i, "text": request.sentences[i]} for i in request.wanted],
    }
    context = [i for i in range(len(request.sentences)) if i not in set(request.wanted)]
    if context:  # the rest of the story, so names and pronouns can be resolved
        story["other_sentences_for_context"] = [
            {"index": i, "text": request.sentences[i]} for i in context
        ]
    if request.bible and (request.bible.characters or request.bible.setting):
        story["known_characters"] = request.bible.to_json()["characters"]
        story["known_setting"] = request.bible.setting
    indexes = ", ".join(str(i) for i in request.wanted)
    return f"Write the JSON for frames {indexes} of this story.\n" + json.dumps(
        story, ensure_ascii=False, indent=1
    )


def _parts(indexes: Sequence[int], size: int) -> list[tuple[int, ...]]:
    return [tuple(indexes[i : i + size]) for i in range(0, len(indexes), size)]


# --- running in the background -----------------------------------------------------------------
@dataclass
class SceneJob:
    """The writer for one story, started as soon as the transcript is ready.

    ``result()`` gives the scenes once written, or the offline scenes when the writer has not
    finished ``settings.llm_timeout`` seconds after it started: pictures are never held back
    longer than that, and a late answer is dropped."""

    request: SceneRequest
    settings: Settings
    transport: Transport | None = None
    started: float = field(default_factory=time.monotonic)
    _result: Scenes | None = None
    _done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        threading.Thread(target=self._run, name="scene-writer", daemon=True).start()

    def _run(self) -> None:
        try:
            if not self.settings.has_scene_writer and self.transport is None:
                self._result = offline_scenes(self.request, offline_reason(self.settings))
            else:
                self._result = SceneWriter(self.settings, self.transport).write(self.request)
        except Exception as error:  # a bug must not cost the story its pictures
            self._result = offline_scenes(self.request, f"The scene writer failed ({error}).")
        finally:
            self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> Scenes:
        remaining = self.settings.llm_timeout - (time.monotonic() - self.started)
        if self._done.wait(max(0.0, remaining)) and self._result is not None:
            return self._result
        late = f"The scene writer did not answer within {self.settings.llm_timeout:g} s."
        return replace(
            offline_scenes(self.request, f"{late} {OFFLINE_NOTICE}"),
            seconds=time.monotonic() - self.started,
            unavailable=late,
        )


def write_scenes(
    request: SceneRequest, settings: Settings, transport: Transport | None = None
) -> Scenes:
    """The writer, waited for (at most ``settings.llm_timeout`` seconds)."""
    return SceneJob(request, settings, transport).result()


def warm_up() -> None:
    """Load what writing scenes needs (the openai client, about a second) ahead of time: the CLI
    calls it while Whisper is still transcribing, so the pictures do not wait for an import."""
    import openai  # noqa: F401

    clip_tokens("warm")


def offline_reason(settings: Settings) -> str:
    if settings.llm == "off":
        return "The scene writer is off (S2I_LLM=off): scenes are the English lines."
    return "No NVIDIA API key is set, so scenes are the English lines (the offline path)."


# --- text helpers ------------------------------------------------------------------------------
def _words(text: str, limit: int) -> str:
    words = plain(text).split()
    return " ".join(words[:limit])
