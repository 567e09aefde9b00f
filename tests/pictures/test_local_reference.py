"""The local backend drawing from a character's picture, through its real loading code, on the
tiny Stable Diffusion pipeline the test builds and saves itself (tests/tiny_diffusion.py).

SD takes no input image in its own call, so the backend draws from the reference as
image-to-image with the same weights; on CUDA in fp16, here on the CPU in float32.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from s2i_core.pictures import ImageParams, forget_loaded
from s2i_core.pictures.local import LocalBackend
from s2i_core.pictures.local_reference import REFERENCE_STRENGTH
from s2i_core.pictures.reference import reference_from_png
from s2i_core.settings import Settings
from tests.tiny_diffusion import build_tiny_pipeline

STEPS = 4


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd-ref") / "tiny-sd", side=64)


@pytest.fixture(scope="module")
def backend(tiny_model):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")  # a download attempt would fail the test
        with LocalBackend(Settings(local_image_model=str(tiny_model))) as backend:
            yield backend
    forget_loaded()


def reference(colour) -> object:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 64), colour).save(buffer, format="PNG")
    return reference_from_png("Rosie", buffer.getvalue())


def pixels(picture) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(picture.data)).convert("RGB"), dtype=np.float32)


def test_the_model_is_offered_to_draw_from_a_picture(backend, tiny_model):
    entry = backend.reference_models[str(tiny_model)]
    assert entry.ready and entry.max_references == 1
    assert "image-to-image" in entry.note
    dtype = torch.float16 if torch.cuda.is_available() else torch.float32
    assert backend._references.pipeline().unet.dtype == dtype
    assert backend._references.pipeline().unet is backend.pipeline.unet  # no second copy


def test_a_frame_drawn_from_a_picture_starts_from_that_picture(backend, tiny_model):
    params = ImageParams(str(tiny_model), steps=STEPS, seed=7)
    red = backend.generate("Rosie waves.", params, reference=reference((230, 20, 20)))
    blue = backend.generate("Rosie waves.", params, reference=reference((20, 20, 230)))
    words = backend.generate("Rosie waves.", params)

    for picture in (red, blue, words):
        assert picture.format == "PNG" and (picture.width, picture.height) == (64, 64)
    red_px, blue_px, words_px = pixels(red), pixels(blue), pixels(words)
    # the same seed and words: what differs is the picture each started from (the tiny model's
    # weights are random, so which colours survive says nothing; a real model is benched)
    assert not np.array_equal(red_px, words_px)
    assert not np.array_equal(red_px, blue_px)
    again = backend.generate("Rosie waves.", params, reference=reference((230, 20, 20)))
    assert again.data == red.data  # same seed, same picture
    assert 0 < REFERENCE_STRENGTH < 1
