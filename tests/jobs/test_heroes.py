"""The same hero in every picture: a story's character sheet, and frames drawn from it.

The real NVIDIA client draws against the stand-in as a school's NIM container (it takes the
picture itself); the stand-in pastes the input picture into what it draws, so a frame drawn from
the hero shows the hero's colours.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image, ImageDraw

from s2i_core.errors import ContentFilteredError
from s2i_core.jobs.drawing import Drawing, generate_story
from s2i_core.pictures.nvidia import KONTEXT_ID
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.bible import Character, StoryBible
from s2i_core.story.characters import draw_character, upload_character
from s2i_core.story.picture_settings import default_params
from s2i_core.story.scenes import set_bible
from tests.conftest_nvidia import stub_client, stub_settings
from tests.nvidia_stub import NvidiaStub

HERO = (230, 40, 150)  # the class drew Rosie in bright magenta
SDXL = "stabilityai/stable-diffusion-xl"
SENTENCES = [
    "Rosie found a red balloon.",
    "The wind blew across the hill.",
    "Rosie and Max flew over the river.",
    "At night Rosie slept under the stars.",
]


@pytest.fixture
def stub() -> Iterator[NvidiaStub]:
    with NvidiaStub() as stub:
        yield stub


@pytest.fixture
def library(tmp_path, stub) -> Iterator[Library]:
    with Library(stub_settings(stub, data_dir=tmp_path)) as library:
        yield library


def class_drawing() -> bytes:
    photo = Image.new("RGB", (500, 700), (210, 204, 190))
    draw = ImageDraw.Draw(photo)
    draw.ellipse((180, 100, 320, 240), fill=HERO)
    draw.rectangle((200, 240, 300, 560), fill=HERO)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def make_story(library: Library, stub: NvidiaStub) -> int:
    settings = stub_settings(stub)
    params = default_params(settings)
    story = library.create_story(
        "Rosie's balloon", image_model=params.model, image_params=params.record()
    )
    for index, text in enumerate(SENTENCES):
        library.add_frame(story.id, FrameDraft(index, index, index + 1.0, text, text, text))
    bible = StoryBible(
        (
            Character("Rosie", "a small girl with a magenta coat"),
            Character("Max", "a brown dog with one white ear"),
        )
    )
    set_bible(library, story.id, bible)
    return story.id


def shows_hero(library: Library, path: str) -> bool:
    """Whether the class's magenta hero is in the picture (the stand-in pastes its input picture
    into the bottom-right corner; a picture drawn from words has only its hash's colours)."""
    with Image.open(library.path(path)) as picture:
        rgb = picture.convert("RGB")
    corner = rgb.crop((rgb.width // 2, rgb.height * 2 // 3, rgb.width, rgb.height))
    pixels = corner.resize((64, 64), Image.Resampling.NEAREST).getcolors(64 * 64)
    return sum(n for n, colour in pixels if near(colour, HERO)) > 40


def near(colour, target, tolerance=30) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


def test_an_uploaded_hero_is_drawn_in_every_frame_that_names_her(library, stub):
    story_id = make_story(library, stub)
    rosie = upload_character(library, story_id, "Rosie", class_drawing(), "rosie.jpg")
    assert rosie.chosen and rosie.source == "uploaded"

    frames = list(generate_story(library, stub_client(stub), story_id))

    assert len(frames) == 4
    story = library.get_story(story_id)
    by_model = {}
    for frame in story.frames:
        assert frame.status == "done"
        by_model[frame.index] = _model_of(library, frame)
        named = "Rosie" in frame.text
        assert shows_hero(library, frame.image_path) == named, frame.text
    assert by_model == {0: KONTEXT_ID, 1: SDXL, 2: KONTEXT_ID, 3: KONTEXT_ID}
    kontext = [r for r in stub.generation_requests() if r.model == KONTEXT_ID]
    assert len(kontext) == 3 and all(r.status == 200 for r in kontext)
    assert len({r.body["seed"] for r in stub.generation_requests()}) == 1  # the story's seed


def _model_of(library: Library, frame) -> str:
    from sqlalchemy import select

    from s2i_core.storage.tables import FramePicture

    with library._reading() as session:
        return session.scalars(
            select(FramePicture.model).where(FramePicture.id == frame.picture_id)
        ).one()


def test_switched_off_every_frame_is_drawn_from_words(library, stub):
    story_id = make_story(library, stub)
    upload_character(library, story_id, "Rosie", class_drawing(), "rosie.jpg")
    library.set_character_sheet(story_id, False)

    list(generate_story(library, stub_client(stub), story_id))

    assert {r.model for r in stub.generation_requests()} == {SDXL}
    assert library.character_sheet(story_id).enabled is False


def test_the_hosted_preview_draws_from_words_and_says_why(library, stub):
    story_id = make_story(library, stub)
    upload_character(library, story_id, "Rosie", class_drawing(), "rosie.jpg")
    client = stub_client(stub, nvidia_base_url="https://ai.api.nvidia.com/v1/genai")
    client._base_url = stub.base_url  # the answers still come from the stand-in

    drawing = Drawing(library, client, story_id)
    list(drawing.pictures())

    assert {r.model for r in stub.generation_requests()} == {SDXL}
    assert any("only its own example pictures" in note for note in drawing.notes)


def test_a_redo_of_a_hero_frame_is_drawn_from_the_hero_again_and_keeps_history(library, stub):
    story_id = make_story(library, stub)
    upload_character(library, story_id, "Rosie", class_drawing(), "rosie.jpg")
    list(generate_story(library, stub_client(stub), story_id))
    first = library.get_story(story_id).frames[0]

    list(generate_story(library, stub_client(stub), story_id, [first.id], reseed=True))

    again = library.get_story(story_id).frames[0]
    assert again.picture_id != first.picture_id and again.attempts == first.attempts + 1
    assert shows_hero(library, again.image_path)
    assert stub.generation_requests()[-1].model == KONTEXT_ID


def test_a_hero_the_filter_rejects_is_a_filtered_frame(library, stub):
    story_id = make_story(library, stub)
    upload_character(library, story_id, "Rosie", class_drawing(), "rosie.jpg")
    stub.behaviour.filter_references = True

    list(generate_story(library, stub_client(stub), story_id))

    frames = library.get_story(story_id).frames
    assert {f.index: f.status for f in frames} == {0: "filtered", 1: "done", 2: "filtered",
                                                   3: "filtered"}  # fmt: skip
    assert "safety filter" in frames[0].error and "Rosie's picture" in frames[0].error


def test_a_drawn_hero_keeps_every_try_and_the_teacher_picks_one(library, stub):
    story_id = make_story(library, stub)
    client = stub_client(stub)
    max_dog = Character("Max", "a brown dog with one white ear")
    first = draw_character(library, client, story_id, max_dog)
    second = draw_character(library, client, story_id, max_dog)
    assert first.seed != second.seed and first.source == second.source == "drawn"
    sheet = library.character_sheet(story_id)
    assert [p.attempt for p in sheet.tries("Max")] == [1, 2]
    assert sheet.chosen("Max").id == second.id

    library.choose_character_picture(first.id)

    sheet = library.character_sheet(story_id)
    assert sheet.chosen("max").id == first.id and len(sheet.tries("Max")) == 2
    [request, _] = stub.generation_requests()
    assert "Character sheet of Max" in request.body["text_prompts"][0]["text"]
    assert "white ear" in request.body["text_prompts"][0]["text"]


def test_a_look_the_word_list_stops_is_never_sent(library, stub):
    story_id = make_story(library, stub)
    with pytest.raises(ContentFilteredError, match="word list"):
        draw_character(library, stub_client(stub), story_id, Character("Max", "a dog with blood"))
    assert stub.generation_requests() == []


def test_the_sheet_and_its_history_go_with_the_story(library, stub):
    story_id = make_story(library, stub)
    upload_character(library, story_id, "Rosie", class_drawing(), "rosie.jpg")
    paths = [p.image_path for p in library.character_sheet(story_id).pictures]
    assert all(library.path(p).exists() for p in paths)
    library.delete_story(story_id)
    assert not any(library.path(p).exists() for p in paths)


def test_the_word_list_stops_a_hero_frame_before_anything_is_sent(library, stub):
    story_id = make_story(library, stub)
    upload_character(library, story_id, "Rosie", class_drawing(), "rosie.jpg")
    library.update_story(story_id, word_list=["balloon"])  # the teacher's own words

    list(generate_story(library, stub_client(stub), story_id))

    frames = library.get_story(story_id).frames
    assert frames[0].status == "filtered" and "balloon" in frames[0].error
    assert all("balloon" not in r.body["prompt"] for r in stub.generation_requests()
               if r.model == KONTEXT_ID)  # fmt: skip
