"""A frame's earlier pictures on the story page: "Use try N" brings back that try's picture with
the scene and prompt it was drawn from: in the boxes at once, in the line under the picture that
says who wrote its scene, in the saved frame (the sentence editor's "Picture:" line, the replay's
alternative text) and in the exports. Pictures come from the NVIDIA stand-in over real HTTP."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pypdf import PdfReader

from s2i_core.exports import export_pdf
from s2i_core.storage import Library
from s2i_core.story.scenes import frame_prompt
from tests.app import test_app
from tests.app.test_app import FOX, STORY, button, open_fix, open_page, seed_story, settle

env, library, pictures = test_app.env, test_app.library, test_app.pictures  # the same fixtures
SCENE_1 = "A small fox holds a red balloon in a green meadow."
SCENE_2 = "A fox watches a yellow balloon float over a dark forest at night."


def small(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize((16, 16)), dtype=float)


def test_use_try_1_brings_back_its_scene_and_prompt_everywhere(library: Library, pictures):
    story_id = seed_story(library, "Two scenes", FOX, pictures=False)
    story = library.get_story(story_id)
    frame = story.frames[0]
    # try 1 is drawn from the scene writer's scene, try 2 from the teacher's
    library.update_frame_text(
        frame.id, scene=SCENE_1, scene_source="llm", prompt=frame_prompt(story, SCENE_1)
    )
    at = open_page(STORY, story=str(story_id))
    at = settle(button(at, "Draw the missing pictures (3)").click().run(), library)
    frame = library.get_story(story_id).frames[0]
    at = open_fix(at, frame)
    at.text_area(key=f"scene_{frame.id}_{frame.attempts}").input(SCENE_2)
    at = settle(at.button(key=f"fix_{frame.id}").click().run(), library)
    assert not at.exception
    first, second = library.frame_pictures(frame.id)
    assert (first.scene, first.scene_source, second.scene, second.scene_source) == (
        SCENE_1,
        "llm",
        SCENE_2,
        "teacher",
    )
    assert SCENE_1 in first.prompt and SCENE_2 in second.prompt
    sent = [r.body["text_prompts"][0]["text"] for r in pictures.generation_requests()]
    assert sum(SCENE_1 in p for p in sent) == 1 and SCENE_2 in sent[-1]

    frame = library.get_story(story_id).frames[0]
    key = f"{frame.id}_{frame.attempts}"
    at = open_fix(at, frame)  # a fix closes the box
    assert at.text_area(key=f"scene_{key}").value == SCENE_2
    assert ":material/draw: Scene written by you" in [c.value for c in at.caption]
    at = at.button(key=f"use_{frame.id}_{first.id}").click().run()
    assert not at.exception
    shown = library.get_story(story_id).frames[0]
    assert (shown.picture_id, shown.image_path) == (first.id, first.image_path)
    assert (shown.scene, shown.scene_source, shown.prompt) == (SCENE_1, "llm", first.prompt)
    assert at.text_area(key=f"scene_{key}").value == SCENE_1  # at once, not after a reload
    assert at.text_area(key=f"prompt_{key}").value == first.prompt

    captions = [c.value for c in at.caption]  # under the picture: who wrote what it shows
    assert ":material/draw: Scene written by the scene writer" in captions
    assert ":material/draw: Scene written by you" not in captions

    reader = PdfReader(io.BytesIO(export_pdf(library.get_story(story_id), library)))
    printed = small(reader.pages[1].images[0].image)
    with (
        Image.open(library.path(first.image_path)) as one,
        Image.open(library.path(second.image_path)) as two,
    ):
        assert np.abs(printed - small(one)).mean() < np.abs(printed - small(two)).mean()
    assert FOX[0] in reader.pages[1].extract_text()
