"""A story's picture settings: chosen when the story is made (or changed by the teacher), kept as
one versioned record (``ImageParams.record()``) with the word list beside it, and fitted to the
models on offer when the story is drawn (a model retired since is replaced by the default, and
the teacher told)."""

from __future__ import annotations

import dataclasses
import random

from ..pictures import ImageModel, ImageParams, catalogue, fit_params, get_model, known_model
from ..pictures.models import nearest_shape
from ..settings import Settings
from ..storage import Library, StoryRecord
from .prompts import DEFAULT_BLOCKLIST, NEGATIVE_PROMPT


def default_params(settings: Settings, params: ImageParams | None = None) -> ImageParams:
    """``params`` (or the default model's defaults) checked against the model and completed, so a
    value the model does not take fails here, before anything is saved."""
    models = catalogue(settings)
    params = params or ImageParams(model=next(iter(models)))
    if not params.negative_prompt:
        params = dataclasses.replace(params, negative_prompt=NEGATIVE_PROMPT)
    if not params.seed:
        params = dataclasses.replace(params, seed=random.randint(1, 2**31 - 1))
    return params.resolved(get_model(models, params.model))


def story_params(story: StoryRecord) -> tuple[ImageParams, tuple[str, ...]]:
    """The picture settings and the word list saved with a story."""
    word_list = DEFAULT_BLOCKLIST if story.word_list is None else tuple(story.word_list)
    return ImageParams.from_record(story.image_params), word_list


def save_params(library: Library, story_id: int, params: ImageParams) -> StoryRecord:
    """The story's picture settings from now on (its word list stays as it is)."""
    return library.update_story(story_id, image_model=params.model, image_params=params.record())


def refit_story_params(
    library: Library, story_id: int, models: dict[str, ImageModel]
) -> tuple[ImageParams, tuple[str, ...], list[str]]:
    """A story's picture settings made acceptable to the models on offer now, saved if they
    changed, with a note for the teacher for each change: a story drawn with a model that is
    retired (or not offered by this backend) is redrawn with the default model."""
    params, word_list = story_params(library.get_story(story_id))
    notes: list[str] = []
    if params.model in models:
        model = models[params.model]
    else:
        model = next(iter(models.values()))
        drawn_with = f"so this story's pictures are drawn with {model.label}"
        notes.append(f"{_gone(params.model)}, {drawn_with}")
        shape = nearest_shape(params.aspect_ratio, model) if params.aspect_ratio else None
        params = dataclasses.replace(
            params, aspect_ratio=shape, steps=None, cfg_scale=None, sampler=None
        )
    params, changes = fit_params(params, model)
    notes += changes
    if notes:
        save_params(library, story_id, params)
    return params, word_list, [f"{note[0].upper()}{note[1:]}." for note in notes]


def _gone(model_id: str) -> str:
    known = known_model(model_id)
    if known is not None and known.retired:
        return f"{known.label} is no longer offered"
    return f"{model_id} is not offered here"
