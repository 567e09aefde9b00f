"""The picture settings a teacher can choose, offering only values the chosen model accepts."""

from __future__ import annotations

import streamlit as st

from s2i_core.pictures import MAX_SEED, ImageModel, ImageParams, catalogue
from s2i_core.settings import Settings
from s2i_core.story.prompts import NEGATIVE_PROMPT

from . import i18n
from .i18n import _, tr


def picture_options(settings: Settings, prefix: str = "c") -> None:
    """Model, shape, steps, guidance, sampler and seed; each model's values under its own keys,
    so switching models never carries a value the other model refuses."""
    models = catalogue(settings)
    model_id = st.selectbox(
        _("Image model"),
        list(models),
        format_func=i18n.labels(models, lambda m: tr(models[m].label)),
        key=f"{prefix}_model",
    )
    model = models[model_id]
    if model.note:
        st.caption(tr(model.note))
    left, right = st.columns(2)
    if len(model.shapes) > 1:
        right.selectbox(
            _("Shape"),
            list(model.shapes),
            format_func=i18n.labels(model.shapes, lambda ratio: _shape_label(model, ratio)),
            key=f"{prefix}_shape_{model_id}",
        )
    else:
        right.caption(
            _(
                "Shape: {shape}, the only one it draws.",
                shape=_shape_label(model, model.default_shape),
            )
        )
    low, high = model.steps
    if low < high:
        left.slider(_("Steps"), low, high, model.default_steps, key=f"{prefix}_steps_{model_id}")
    if model.cfg is not None:
        cfg = model.cfg
        right.slider(
            _("Guidance (cfg scale)"),
            cfg.smallest_offered,
            cfg.high,
            cfg.default,
            cfg.step,
            key=f"{prefix}_cfg_{model_id}",
            help=_(
                "Higher follows the sentence more closely; lower leaves the model more freedom."
            ),
        )
    if model.samplers:
        left.selectbox(_("Sampler"), model.samplers, key=f"{prefix}_sampler_{model_id}")
    left.number_input(_("Seed (0 = random)"), 0, MAX_SEED, 0, key=f"{prefix}_seed")


def chosen_params(settings: Settings, prefix: str = "c") -> ImageParams:
    """What ``picture_options`` shows, as parameters (the model's defaults where it was never
    opened)."""
    models = catalogue(settings)
    model_id = st.session_state.get(f"{prefix}_model")
    if model_id not in models:
        model_id = next(iter(models))
    state = st.session_state
    return ImageParams(
        model=model_id,
        aspect_ratio=state.get(f"{prefix}_shape_{model_id}"),
        steps=state.get(f"{prefix}_steps_{model_id}"),
        cfg_scale=state.get(f"{prefix}_cfg_{model_id}"),
        sampler=state.get(f"{prefix}_sampler_{model_id}"),
        seed=int(state.get(f"{prefix}_seed", 0)),
        negative_prompt=NEGATIVE_PROMPT,
    )


def _shape_label(model: ImageModel, ratio: str) -> str:
    width, height = model.shapes[ratio]
    if width == height:
        return _("{ratio} square ({width}×{height})", ratio=ratio, width=width, height=height)
    if width > height:
        return _("{ratio} wide ({width}×{height})", ratio=ratio, width=width, height=height)
    return _("{ratio} tall ({width}×{height})", ratio=ratio, width=width, height=height)
