"""A story's picture settings: chosen when the story is made, and made to fit the models on offer
when it is drawn (a model retired since is replaced by the default, and the teacher told)."""

from __future__ import annotations

import dataclasses
import random

from ..pictures import MAX_SEED, ImageModel, ImageParams, catalogue, fit_params, get_model
from ..pictures.base import nearest_shape
from ..pictures.nvidia import RETIRED_MODELS
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
    """The picture settings and word list saved with a story (older records read too)."""
    record = dict(story.image_params)
    blocklist = tuple(record.pop("blocklist", DEFAULT_BLOCKLIST))
    width, height = record.pop("width", None), record.pop("height", None)
    if not record.get("aspect_ratio") and width and height:
        record["aspect_ratio"] = f"{width}:{height}"  # saved before models named their shapes
    record.setdefault("model", story.image_model)
    known = {f.name for f in dataclasses.fields(ImageParams)}
    seed = record.get("seed")
    if isinstance(seed, int) and not 0 <= seed <= MAX_SEED:  # saved before seeds were checked
        record["seed"] = random.randint(1, 2**31 - 1)
    params = ImageParams(**{k: v for k, v in record.items() if k in known})
    return params, blocklist


def refit_story_params(
    library: Library, story_id: int, models: dict[str, ImageModel]
) -> tuple[ImageParams, tuple[str, ...], list[str]]:
    """A story's picture settings made acceptable to the models on offer now, saved if they
    changed, with a note for the teacher for each change: a story drawn with a model that is
    retired (or not offered by this backend) is redrawn with the default model."""
    story = library.get_story(story_id)
    params, blocklist = story_params(story)
    notes: list[str] = []
    if params.model in models:
        model = models[params.model]
    else:
        model = next(iter(models.values()))
        old = RETIRED_MODELS.get(params.model, params.model)
        why = "is no longer offered" if params.model in RETIRED_MODELS else "is not offered here"
        notes.append(f"{old} {why}, so this story's pictures are drawn with {model.label}")
        shape = nearest_shape(params.aspect_ratio, model) if params.aspect_ratio else None
        params = dataclasses.replace(
            params, aspect_ratio=shape, steps=None, cfg_scale=None, sampler=None
        )
    params, changes = fit_params(params, model)
    notes += changes
    if notes:
        library.update_story(
            story_id, image_model=model.id, image_params=params_record(params, blocklist)
        )
    return params, blocklist, [f"{note[0].upper()}{note[1:]}." for note in notes]


def params_record(params: ImageParams, blocklist: tuple[str, ...]) -> dict:
    record = {k: v for k, v in dataclasses.asdict(params).items() if v not in (None, "")}
    record["blocklist"] = list(blocklist)
    return record
