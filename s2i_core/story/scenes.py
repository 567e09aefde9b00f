"""A story's scenes and bible, saved with it: written by the scene writer, edited by the teacher.

Every change here rebuilds the prompts it affects, so every frame and every redo is drawn from
the story's current bible and the frame's current scene:

- ``write_missing_scenes``: what a "scenes" job does (s2i_core.jobs): the frames whose sentence
  has no scene yet (``scene_source`` empty: new, or changed by the teacher) get one, the rest of
  the story being their context;
- ``keep_scenes``: sentences the teacher left as they were keep their scenes through edits;
- ``write_story_scenes`` (every frame), ``start_scenes`` (in the background, for the CLI and
  the bench);
- ``set_bible``, ``set_frame_scene``, ``rewrite_frame_scene``: the teacher's edits.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from difflib import SequenceMatcher

from ..errors import StaleVersionError
from ..settings import Settings
from ..storage import FrameDraft, FrameRecord, Library, StoryRecord
from .bible import LLM, OFFLINE, TEACHER, StoryBible, notes_bible
from .drafts import english_story
from .prompts import build_prompt, get_style
from .scene_writer import FrameScene, SceneJob, SceneRequest, Scenes, Transport, write_scenes


def story_bible(story: StoryRecord) -> StoryBible:
    """The story's saved bible, or (before the writer ran) the one read from the notes."""
    if story.bible:
        return StoryBible.from_json(story.bible)
    return notes_bible(story.characters)


def scene_path(story: StoryRecord) -> tuple[str, str]:
    """(path, notice) of the story's last scene writing: llm | mixed | offline, and why."""
    return str(story.bible.get("path", "")), str(story.bible.get("notice", ""))


def frame_prompt(story: StoryRecord, scene: str, bible: StoryBible | None = None) -> str:
    return build_prompt(scene, story.style, bible or story_bible(story), story.image_model)


def scene_request(story: StoryRecord, only: tuple[int, ...] | None = None) -> SceneRequest:
    """What the writer is told: the story as saved now (positions are the frames' order)."""
    return SceneRequest(
        title=story.title,
        language=story.language,
        sentences=tuple(f.text for f in story.frames),
        english=tuple(f.text_en for f in story.frames),
        notes=story.characters,
        style=get_style(story.style).prompt,
        bible=story_bible(story) if story.bible.get("source") == TEACHER else None,
        only=only,
    )


def start_scenes(
    settings: Settings, story: StoryRecord, transport: Transport | None = None
) -> SceneJob:
    return SceneJob(scene_request(story), settings, transport)


def write_story_scenes(
    library: Library,
    settings: Settings,
    story_id: int,
    job: SceneJob | None = None,
    transport: Transport | None = None,
) -> tuple[StoryRecord, Scenes]:
    """Give every frame its English line, scene and prompt, and save the bible, before pictures.

    ``job``'s scenes are used for the sentences it was given that are still there (edits, merges
    and splits move them); sentences written or changed since it started get one short request
    of their own, with the job's characters."""
    story = library.get_story(story_id)
    request = scene_request(story)
    if job is None:
        scenes = write_scenes(request, settings, transport)
    else:
        scenes = _reuse(job, request, settings, transport)
    return apply_scenes(library, story_id, scenes), scenes


def write_missing_scenes(
    library: Library,
    settings: Settings,
    story_id: int,
    frame_ids: list[int] | None = None,
    transport: Transport | None = None,
    wait_if_unavailable: bool = False,
) -> Scenes | None:
    """Scenes for the frames that have none yet (only ``frame_ids`` of them, if given): one
    request, bounded like every call by ``llm_timeout``. The first writing of a story writes its
    bible too; later ones keep it. A frame whose sentence changed while the writer wrote is left
    for the next writing, and an English line typed meanwhile is kept. None: nothing to write.
    With ``wait_if_unavailable``, a writer that could not be asked (``Scenes.unavailable``)
    saves nothing: the caller asks again later instead of taking the offline path now."""
    story = library.get_story(story_id)
    wanted = tuple(
        i
        for i, f in enumerate(story.frames)
        if not f.scene_source and (frame_ids is None or f.id in frame_ids)
    )
    if not wanted:
        return None
    first = len(wanted) == len(story.frames) and not scene_path(story)[0]
    request = scene_request(story)
    if not first:
        request = replace(request, bible=story_bible(story), only=wanted)
    scenes = write_scenes(request, settings, transport)
    if not (scenes.unavailable and wait_if_unavailable):
        _save_missing(library, story, wanted, scenes, first)
    return scenes


def _save_missing(
    library: Library, asked: StoryRecord, wanted: tuple[int, ...], scenes: Scenes, first: bool
) -> None:
    story = library.get_story(asked.id)
    bible = story_bible(story)
    if first and story.bible.get("source") != TEACHER:
        bible = scenes.bible
    path, notice = scene_path(story)
    if path and path != scenes.path:
        path = "mixed"
    _save_bible(library, story, bible, path or scenes.path, scenes.notice or notice)
    story = library.get_story(asked.id)
    # Frames are matched in story order, not by their text (a sentence said twice is two
    # frames) nor by id (an edit while the writer wrote saves the sentences as new frames).
    asked_at = same_sentences([f.text for f in asked.frames], [f.text for f in story.frames])
    for position, frame in enumerate(story.frames):
        i = asked_at.get(position)
        written = scenes.frame(i) if i in wanted and not frame.scene_source else None
        if written is None:  # written meanwhile, changed meanwhile, or not given to the writer
            continue
        typed = frame.text_en != asked.frames[i].text_en
        english = frame.text_en if typed else _english(story, frame, written)
        if typed and written.source == OFFLINE:  # that scene is the line: the one typed now
            written = replace(written, scene=english)
        with contextlib.suppress(StaleVersionError):  # changed as it was saved: written next time
            _save_scene(library, story, frame, english, written, bible, frame.version)


def keep_scenes(story: StoryRecord, drafts: list[FrameDraft]) -> list[FrameDraft]:
    """New frames for the teacher's edited sentences: one left as it was keeps the scene written
    for it (an offline scene only with its English line unchanged, as it is that line); a new
    or changed one has none, for the next writing."""
    matched = same_sentences([f.text for f in story.frames], [d.text for d in drafts])
    bible = story_bible(story)
    kept = []
    for position, draft in enumerate(drafts):
        old = story.frames[matched[position]] if position in matched else None
        if (
            old
            and old.scene_source
            and (old.scene_source != OFFLINE or old.text_en == draft.text_en)
        ):
            prompt = frame_prompt(story, old.scene, bible)
            draft = replace(draft, scene=old.scene, scene_source=old.scene_source, prompt=prompt)
        kept.append(draft)
    return kept


def same_sentences(before: list[str], after: list[str]) -> dict[int, int]:
    """Which sentence of ``before`` each sentence of ``after`` is, where the teacher left it as
    it was (position in ``after`` -> position in ``before``), matched in story order: a sentence
    said twice (1 and 13) is two sentences, each with its own scene, never one shared."""
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    return {
        block.b + k: block.a + k
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    }


def _reuse(
    job: SceneJob, request: SceneRequest, settings: Settings, transport: Transport | None
) -> Scenes:
    earlier = job.result()
    by_index = {f.index: f for f in earlier.frames}
    matched = same_sentences(list(job.request.sentences), list(request.sentences))
    frames = {
        i: by_index.get(matched[i]) if i in matched else None for i in range(len(request.sentences))
    }
    for i, scene in frames.items():  # an English line the teacher typed meanwhile is kept
        typed = request.english_lines[i]
        given = job.request.english_lines[matched[i]] if i in matched else None
        if scene is not None and typed not in (given, scene.english):
            frames[i] = replace(scene, english=typed)
    missing = tuple(i for i, scene in frames.items() if scene is None)
    if not missing:
        kept = tuple(replace(scene, index=i) for i, scene in frames.items() if scene)
        return replace(earlier, frames=kept)
    bible = request.bible or earlier.bible
    rewritten = write_scenes(replace(request, bible=bible, only=missing), settings, transport)
    frames |= {f.index: f for f in rewritten.frames}
    merged = tuple(replace(scene, index=i) for i, scene in frames.items() if scene)
    sources = {f.source for f in merged}
    path = LLM if sources == {LLM} else OFFLINE if LLM not in sources else "mixed"
    notice = " ".join(n for n in (earlier.notice, rewritten.notice) if n)
    seconds = earlier.seconds + rewritten.seconds
    return Scenes(bible, merged, path, notice, seconds)


def apply_scenes(library: Library, story_id: int, scenes: Scenes) -> StoryRecord:
    """Save the bible (a teacher's stays) and each frame's English line, scene and prompt."""
    story = library.get_story(story_id)
    bible = story_bible(story) if story.bible.get("source") == TEACHER else scenes.bible
    _save_bible(library, story, bible, scenes.path, scenes.notice)
    story = library.get_story(story_id)
    for position, frame in enumerate(story.frames):
        written = scenes.frame(position)
        if written is not None:
            _save_scene(library, story, frame, _english(story, frame, written), written, bible)
    return library.get_story(story_id)


def set_bible(library: Library, story_id: int, bible: StoryBible) -> StoryRecord:
    """The teacher's bible: kept from now on, and every frame's prompt rebuilt from it."""
    story = library.get_story(story_id)
    bible = replace(bible, source=TEACHER)
    path, notice = scene_path(story)
    _save_bible(library, story, bible, path, notice)
    story = library.get_story(story_id)
    for frame in story.frames:
        if words := drawn_from(story, frame):
            library.update_frame_text(frame.id, prompt=frame_prompt(story, words, bible))
    return library.get_story(story_id)


def set_frame_scene(
    library: Library, story_id: int, frame_id: int, english: str, scene: str
) -> FrameRecord:
    """The teacher's English line and scene for one frame (its prompt follows)."""
    story = library.get_story(story_id)
    frame = next(f for f in story.frames if f.id == frame_id)
    written = FrameScene(frame.index, english, scene, TEACHER)
    return _save_scene(library, story, frame, english, written, story_bible(story))


def rewrite_frame_scene(
    library: Library,
    settings: Settings,
    story_id: int,
    frame_id: int,
    transport: Transport | None = None,
) -> tuple[FrameRecord, Scenes]:
    """After the teacher edits one sentence: the writer again, for that sentence only, with the
    story's bible (bounded like every call by ``llm_timeout``)."""
    story = library.get_story(story_id)
    position = next(i for i, f in enumerate(story.frames) if f.id == frame_id)
    request = replace(scene_request(story, only=(position,)), bible=story_bible(story))
    scenes = write_scenes(request, settings, transport)
    written = scenes.frame(position)
    frame = story.frames[position]
    english = _english(story, frame, written)
    return _save_scene(library, story, frame, english, written, story_bible(story)), scenes


def drawn_from(story: StoryRecord, frame: FrameRecord) -> str:
    """The English words the frame's picture is drawn from: its scene, else its English line
    (an English sentence is its own); "" when it has none yet."""
    return frame.scene or frame.text_en or (frame.text if english_story(story) else "")


def shown_scene(frame: FrameRecord) -> str:
    """The scene as the teacher sees it (frames saved before scenes existed show their line)."""
    return frame.scene or frame.text_en or frame.text


def scene_after_fix(
    library: Library,
    story_id: int,
    before: FrameRecord,
    fixed: FrameRecord,
    scene: str = "",
) -> tuple[FrameRecord, bool]:
    """A frame the teacher fixed (``before`` -> ``fixed``: sentence and English line saved) gets
    the scene that goes with it: the one the teacher typed; else, for a new sentence, none yet
    (True: the caller queues the writer; its English line stands in meanwhile); else the same
    scene, or the new English line where the scene was just the old one. The prompt follows."""
    scene = " ".join(scene.split())
    english_typed = fixed.text_en != before.text_en and fixed.text == before.text
    story = library.get_story(story_id)
    if scene and scene != shown_scene(before):
        return set_frame_scene(library, story_id, fixed.id, fixed.text_en, scene), False
    if fixed.text != before.text:
        english = fixed.text_en or (fixed.text if english_story(story) else "")
        waiting = FrameScene(fixed.index, fixed.text_en, english, "")
        english = _english(story, fixed, waiting)
        return _save_scene(library, story, fixed, english, waiting, story_bible(story)), True
    if english_typed and before.scene_source != LLM:  # the old scene was the old English line
        return set_frame_scene(library, story_id, fixed.id, fixed.text_en, fixed.text_en), False
    written = FrameScene(fixed.index, fixed.text_en, before.scene, before.scene_source)
    frame = _save_scene(library, story, fixed, fixed.text_en, written, story_bible(story))
    return frame, False


def _english(story: StoryRecord, frame: FrameRecord, written: FrameScene) -> str:
    """An English story's line is the sentence itself; otherwise the writer's translation (or,
    offline, Whisper's)."""
    return frame.text if (story.language or "en").lower().startswith("en") else written.english


def _save_scene(
    library: Library,
    story: StoryRecord,
    frame: FrameRecord,
    english: str,
    written: FrameScene,
    bible: StoryBible,
    version: int | None = None,
) -> FrameRecord:
    """Save a frame's English line, scene and prompt; with ``version``, only if the frame is
    still at that version (StaleVersionError: a teacher changed it since it was read)."""
    scene = " ".join(written.scene.split()) or " ".join(english.split())
    words = {
        "text_en": " ".join(english.split()),
        "scene": scene,
        "scene_source": written.source if scene else "",  # no words to draw from: it waits
        "prompt": frame_prompt(story, scene, bible) if scene else "",
    }
    if version is not None:
        return library.save_frame_words(frame.id, version, **words)
    return library.update_frame_text(frame.id, **words)


def _save_bible(
    library: Library, story: StoryRecord, bible: StoryBible, path: str, notice: str
) -> None:
    library.update_story(story.id, bible=bible.to_json() | {"path": path, "notice": notice})
