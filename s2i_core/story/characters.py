"""A story's character sheet, made: each main character's picture, drawn from its look in the
story bible (redrawn until the teacher likes one, earlier tries kept to pick from) or uploaded
(a photo of the class's own drawing). Stored by ``Library.add_character_picture``; frames are
drawn from the chosen pictures (s2i_core/jobs/cast.py).
"""

from __future__ import annotations

import dataclasses
import random

from ..errors import ContentFilteredError, InvalidRequestError
from ..pictures import ImageParams, PictureBackend
from ..pictures.images import thumbnail
from ..pictures.reference import Crop, prepare_upload
from ..storage import CharacterPicture, Library
from .bible import Character, StoryBible
from .picture_settings import refit_story_params
from .prompts import blocked_reason, build_prompt, classroom_word_list


def main_characters(library: Library, story_id: int) -> list[Character]:
    """The characters of the story's bible: those a sheet has a picture for."""
    return list(StoryBible.from_json(library.get_story(story_id).bible).characters)


def sheet_prompt(character: Character, style: str = "", model: str | None = None) -> str:
    """What to draw for a character's reference picture: the whole character, alone, on white,
    so a reference model copies the character and nothing else."""
    scene = (
        f"Character sheet of {character.name}, {character.look}. The whole character, standing, "
        "facing the viewer, alone on a plain white background"
    )
    return build_prompt(scene, style, StoryBible((character,)), model)


def upload_character(
    library: Library,
    story_id: int,
    character: str,
    data: bytes,
    filename: str = "",
    crop: Crop | None = None,
    clean: bool = True,
) -> CharacterPicture:
    """A photo of the class's drawing as ``character``'s picture (chosen; earlier ones kept).
    Raises ReferencePictureError with a sentence for the teacher when it cannot be used."""
    png = prepare_upload(data, filename, crop, clean)
    return library.add_character_picture(story_id, character, png, thumbnail(png), "uploaded")


def draw_character(
    library: Library, backend: PictureBackend, story_id: int, character: Character
) -> CharacterPicture:
    """A new try at ``character``'s picture with the story's own model, settings and word list
    (a new seed each time: the teacher picks among the tries). Raises ContentFilteredError when
    the word list or the service's filter stops it, like a frame; ImageAPIError otherwise."""
    story = library.get_story(story_id)
    params, blocklist, _ = refit_story_params(library, story_id, backend.models)
    words = tuple(blocklist) + classroom_word_list(library)
    reason = blocked_reason(f"{character.name} {character.look}", words, story.language or "en")
    if reason:
        raise ContentFilteredError(reason)
    if not character.look.strip():
        raise InvalidRequestError(
            f"The story bible says nothing about how {character.name} looks. Describe "
            f"{character.name} there, or upload the class's drawing instead."
        )
    prompt = sheet_prompt(character, story.style, params.model)
    params = _square(dataclasses.replace(params, seed=random.randint(1, 2**31 - 1)), backend)
    picture = backend.generate(prompt, params)
    return library.add_character_picture(
        story_id,
        character.name,
        picture.data,
        thumbnail(picture.data),
        "drawn",
        prompt=prompt,
        model=params.model,
        seed=picture.seed,
    )


def _square(params: ImageParams, backend: PictureBackend) -> ImageParams:
    """A character stands best in a portrait shape, where the model draws one."""
    shapes = backend.models[params.model].shapes
    for ratio in ("3:4", "2:3", "4:5", "9:16", "1:1"):
        if ratio in shapes:
            return dataclasses.replace(params, aspect_ratio=ratio)
    return params
