"""Scenes saved with a story: Spanish and German narrations end to end through the scene writer
(tests/llm_stub.py) and the picture service (tests/nvidia_stub.py), the offline path, the
teacher's bible and scene edits, and what every picture request carries."""

from __future__ import annotations

import pytest

from s2i_core.jobs.drawing import generate_story
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.bible import LLM, OFFLINE, TEACHER, Character, StoryBible
from s2i_core.story.drafts import StoryOptions, save_draft
from s2i_core.story.narration import transcribe_narration
from s2i_core.story.scenes import (
    keep_scenes,
    rewrite_frame_scene,
    scene_path,
    set_bible,
    set_frame_scene,
    start_scenes,
    story_bible,
    write_missing_scenes,
    write_story_scenes,
)
from tests.conftest_nvidia import stub_client, stub_settings
from tests.llm_stub import LLMStub, StubStory
from tests.nvidia_stub import NvidiaStub

DOG = {"name": "Bello", "look": "a small brown dog with floppy ears and a red collar"}
CAT = {"name": "Mimi", "look": "a fluffy white cat with a blue bow"}
STORY = StubStory(
    characters=[DOG, CAT],
    setting="a sunny village with a park",
    english_template="English line {index}: {text}",
    scene_template="Bello the dog and Mimi the cat, picture {index}, in the park",
)


@pytest.fixture
def services():
    with NvidiaStub() as pictures, LLMStub(key=pictures.key, story=STORY) as llm:
        yield pictures, llm


def writer_settings(pictures: NvidiaStub, llm: LLMStub, tmp_path, **overrides):
    return stub_settings(
        pictures,
        data_dir=tmp_path,
        llm="auto",
        llm_base_url=llm.base_url,
        image_timeout=30.0,
        **overrides,
    )


@pytest.fixture(scope="module", params=["es", "de"])
def narration(request, speech_engine, fixtures_dir, engine_settings):
    wav = fixtures_dir / f"{request.param}_story.wav"
    return transcribe_narration(wav, engine_settings, speech_engine, language=request.param)


def test_a_spanish_or_german_story_gets_english_scenes_and_every_prompt_holds_them(
    tmp_path, services, narration
):
    pictures, llm = services
    settings = writer_settings(pictures, llm, tmp_path)
    library = Library(settings)
    story = save_draft(library, settings, StoryOptions("Bello", style="crayon"), narration)
    job = start_scenes(settings, story)  # as soon as the transcript is ready
    story, scenes = write_story_scenes(library, settings, story.id, job)  # at "Generate"
    frames = list(generate_story(library, stub_client(pictures), story.id))

    told = llm.user_stories()[0]
    assert told["language"] == narration.language
    assert [s["text"] for s in told["sentences"]] == [s.text for s in narration.sentences]
    assert scenes.path == LLM and scene_path(library.get_story(story.id)) == (LLM, "")
    story = library.get_story(story.id)
    assert story_bible(story).characters == (Character(**DOG), Character(**CAT))
    assert [f.status for f in story.frames] == ["done"] * len(frames)
    sent = [r.body["text_prompts"][0]["text"] for r in pictures.generation_requests()]
    assert sorted(sent) == sorted(f.prompt for f in story.frames)
    for frame in story.frames:
        assert frame.text_en == f"English line {frame.index}: {frame.text}"
        assert frame.scene == f"Bello the dog and Mimi the cat, picture {frame.index}, in the park"
        assert frame.scene_source == LLM
        assert frame.prompt.startswith(frame.scene)
        assert DOG["look"] in frame.prompt and CAT["look"] in frame.prompt
        assert "crayon drawing" in frame.prompt


def test_without_the_writer_the_english_line_is_whispers_and_the_teacher_is_told(
    tmp_path, narration
):
    with NvidiaStub() as pictures:
        settings = stub_settings(pictures, data_dir=tmp_path)  # llm="off"
        library = Library(settings)
        notes = "Bello is a small brown dog. The story happens in a village."
        story = save_draft(library, settings, StoryOptions("B", characters=notes), narration)
        story, scenes = write_story_scenes(
            library, settings, story.id, start_scenes(settings, story)
        )
    assert scenes.path == OFFLINE and "S2I_LLM=off" in scenes.notice
    assert scene_path(story) == (OFFLINE, scenes.notice)
    assert story_bible(story).characters == (Character("Bello", "Bello is a small brown dog"),)
    for frame, sentence in zip(story.frames, narration.sentences, strict=True):
        assert frame.text_en == sentence.text_en != ""  # Whisper's translation
        assert frame.scene == sentence.text_en and frame.scene_source == OFFLINE
        assert "The story happens in a village" in frame.prompt


def draft_story(library: Library, texts: list[str], language: str = "es") -> int:
    story = library.create_story("Cuento", language=language, style="storybook")
    drafts = [FrameDraft(i, i, i + 1.0, text, text) for i, text in enumerate(texts)]
    library.set_frames(story.id, drafts)
    return story.id


def test_sentences_edited_while_the_writer_ran_get_a_request_of_their_own(tmp_path, services):
    pictures, llm = services
    settings = writer_settings(pictures, llm, tmp_path)
    library = Library(settings)
    story_id = draft_story(library, ["Bello corre.", "Mimi duerme.", "Fin del cuento."])
    job = start_scenes(settings, library.get_story(story_id))
    job.result()
    edited = ["Bello corre.", "Mimi duerme en la cama.", "Fin del cuento."]  # the teacher edits
    library.set_frames(story_id, [FrameDraft(i, i, i + 1.0, t, t) for i, t in enumerate(edited)])
    story, _ = write_story_scenes(library, settings, story_id, job)
    rewrite = llm.user_stories()[-1]
    assert len(llm.requests()) == 2
    assert rewrite["sentences"] == [{"index": 1, "text": "Mimi duerme en la cama."}]
    assert rewrite["known_characters"] == [DOG, CAT]
    assert [f.text_en for f in story.frames] == [
        "English line 0: Bello corre.",
        "English line 1: Mimi duerme en la cama.",
        "English line 2: Fin del cuento.",
    ]


def test_the_teachers_bible_is_used_by_every_frame_and_every_redo(tmp_path, services):
    pictures, llm = services
    settings = writer_settings(pictures, llm, tmp_path)
    library = Library(settings)
    story_id = draft_story(library, ["Bello corre.", "Mimi duerme."])
    write_story_scenes(library, settings, story_id)
    list(generate_story(library, stub_client(pictures), story_id))
    teacher = StoryBible((Character("Bello", "a tall black dog in yellow boots"),), "a beach")
    story = set_bible(library, story_id, teacher)
    assert story.bible["source"] == TEACHER
    assert all("a tall black dog in yellow boots" in f.prompt for f in story.frames)
    assert all("a beach" in f.prompt and "floppy ears" not in f.prompt for f in story.frames)

    pictures.reset()
    redo = story.frames[1]
    list(generate_story(library, stub_client(pictures), story_id, [redo.id], reseed=True))
    (request,) = pictures.generation_requests()
    assert "a tall black dog in yellow boots" in request.body["text_prompts"][0]["text"]

    # an edited sentence is rewritten with the teacher's bible, which stays as it is
    library.update_frame_text(redo.id, text="Mimi duerme con Bello.")
    frame, _ = rewrite_frame_scene(library, settings, story_id, redo.id)
    assert llm.user_stories()[-1]["known_characters"] == [
        {"name": "Bello", "look": "a tall black dog in yellow boots"}
    ]
    assert frame.text_en == "English line 1: Mimi duerme con Bello." and frame.scene_source == LLM
    assert story_bible(library.get_story(story_id)) == StoryBible(
        teacher.characters, "a beach", TEACHER
    )


def test_a_frame_the_word_list_stops_for_its_scene_is_fixed_by_editing_the_scene(
    tmp_path, services
):
    pictures, llm = services
    llm.story = StubStory(characters=[DOG], scene_template="Bello sharpens two knives")
    settings = writer_settings(pictures, llm, tmp_path)
    library = Library(settings)
    story_id = draft_story(library, ["Bello cocina."])
    write_story_scenes(library, settings, story_id)
    (frame,) = list(generate_story(library, stub_client(pictures), story_id))
    assert frame.status == "filtered" and "knife" in frame.error
    assert pictures.generation_requests() == []

    set_frame_scene(library, story_id, frame.id, "Bello cooks.", "Bello stirs a pot of soup")
    (frame,) = list(generate_story(library, stub_client(pictures), story_id, [frame.id]))
    assert frame.status == "done" and frame.scene_source == TEACHER
    assert frame.prompt.startswith("Bello stirs a pot of soup. Bello, " + DOG["look"])


def test_a_sentence_said_twice_has_two_scenes_and_each_keeps_its_own(tmp_path, services):
    """Scenes belong to frames, never to sentence text: sentence 1 and 3 read the same, each
    gets the scene written for its place, and deleting 3 leaves 1 with its own."""
    pictures, llm = services
    settings = writer_settings(pictures, llm, tmp_path)
    library = Library(settings)
    said_twice = ["Bello corre.", "Mimi duerme.", "Bello corre."]
    story_id = draft_story(library, said_twice)
    write_missing_scenes(library, settings, story_id)
    story = library.get_story(story_id)
    scenes = [f.scene for f in story.frames]
    assert scenes == [STORY.scene_template.format(index=i) for i in range(3)]

    two = [FrameDraft(i, i, i + 1.0, t, f.text_en) for i, (t, f) in
           enumerate(zip(said_twice[:2], story.frames, strict=False))]  # fmt: skip
    library.set_frames(story_id, keep_scenes(story, two))  # the teacher deletes sentence 3
    assert [f.scene for f in library.get_story(story_id).frames] == scenes[:2]

    library.set_frames(story_id, keep_scenes(library.get_story(story_id), two[1:]))  # and 1
    assert [f.scene for f in library.get_story(story_id).frames] == [scenes[1]]
