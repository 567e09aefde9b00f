"""The local picture backend through its real loading code, on a tiny Stable Diffusion pipeline
the tests build and save themselves (tests/tiny_diffusion.py), offline and on the CPU."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image

from s2i_core.errors import PictureModelError
from s2i_core.jobs.drawing import generate_story
from s2i_core.pictures import ImageParams, choose_backend, forget_loaded, load_backend
from s2i_core.pictures.local import LocalBackend, device_name, local_catalogue
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from tests.tiny_diffusion import build_tiny_pipeline

ROOT = Path(__file__).resolve().parents[2]
STEPS = 2


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd") / "tiny-sd", side=64)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a download attempt would fail the test
    yield
    forget_loaded()


@pytest.fixture(scope="module")
def backend(tiny_model) -> LocalBackend:
    settings = Settings(local_image_model=str(tiny_model), image_concurrency=4)
    with LocalBackend(settings) as backend:
        yield backend


def params(model: Path, seed: int, **changes) -> ImageParams:
    return ImageParams(str(model), steps=STEPS, seed=seed, **changes)


def test_auto_picks_the_local_model_when_no_key_is_set_and_loads_it_once(tiny_model, tmp_path):
    settings = Settings(data_dir=tmp_path, local_image_model=str(tiny_model))
    assert choose_backend(settings).name == "local"
    assert choose_backend(settings.with_changes(nvidia_api_key="nvapi-x")).name == "nvidia"
    first = load_backend(settings)
    assert isinstance(first, LocalBackend) and load_backend(settings) is first
    on_gpu = torch.cuda.is_available()  # a GPU, when there is one, draws in half precision
    expected = ("cuda", torch.float16) if on_gpu else ("cpu", torch.float32)
    assert (first.device, first.pipeline.unet.dtype) == expected
    assert device_name(first.device) in first.label


def test_the_catalogue_comes_from_the_saved_configs_without_loading(tiny_model):
    (model,) = local_catalogue(Settings(local_image_model=str(tiny_model))).values()
    assert model.shapes == {"1:1": (64, 64)}  # 64 px native; no other shape fits that small
    assert (model.steps, model.default_steps, model.negative_prompt) == ((1, 150), 25, True)


def test_pictures_are_real_pngs_from_their_seed(backend, tiny_model):
    a = backend.generate("A red fox in the snow.", params(tiny_model, seed=7))
    again = backend.generate("A red fox in the snow.", params(tiny_model, seed=7))
    other = backend.generate("A red fox in the snow.", params(tiny_model, seed=8))
    image = Image.open(io.BytesIO(a.data))
    assert (image.format, image.size, a.seed) == ("PNG", (64, 64), 7)
    assert a.data == again.data  # same seed, same prompt, same machine: the same picture
    assert a.data != other.data


def test_pictures_asked_for_together_are_drawn_in_one_batch(tiny_model):
    settings = Settings(local_image_model=str(tiny_model), image_concurrency=4)
    results: dict[int, object] = {}
    # a long gathering window: the batch starts as soon as four pictures wait, not after it
    with LocalBackend(settings, gather_s=30) as backend:

        def draw(n: int) -> None:
            prompt = f"Frame {n}: the fox runs."
            results[n] = backend.generate(prompt, params(tiny_model, seed=n + 1))

        threads = [threading.Thread(target=draw, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.seed for r in results.values()) == [1, 2, 3, 4]
        assert backend.batch_sizes == [4]


def test_a_storyboard_drawn_locally_is_saved_like_one_from_nvidia(tiny_model, tmp_path):
    settings = Settings(data_dir=tmp_path, local_image_model=str(tiny_model), image_concurrency=3)
    backend = load_backend(settings)
    library = Library(settings)
    story = library.create_story("Local fox", image_model=str(tiny_model))
    library.update_story(story.id, image_params={"model": str(tiny_model), "steps": STEPS})
    sentences = ("The fox wakes.", "The fox runs.", "The fox sleeps.")
    library.set_frames(
        story.id, [FrameDraft(i, i, i + 1, t, t, t) for i, t in enumerate(sentences)]
    )
    frames = list(generate_story(library, backend, story.id))
    assert sorted(f.status for f in frames) == ["done"] * 3
    for frame in frames:
        with Image.open(library.path(frame.image_path)) as picture:
            assert picture.size == (64, 64)
        [drawn] = library.frame_pictures(frame.id)
        assert drawn.model == str(tiny_model) and drawn.prompt == frame.prompt
    assert library.get_story(story.id).status == "complete"
    assert backend.batch_sizes and max(backend.batch_sizes) > 1  # frames shared GPU batches


def test_a_model_that_cannot_be_loaded_is_named_with_what_to_do(tmp_path):
    missing = tmp_path / "no-such-model"
    settings = Settings(data_dir=tmp_path, local_image_model=str(missing), image_backend="local")
    with pytest.raises(PictureModelError) as caught:
        load_backend(settings)
    assert str(missing) in str(caught.value) and "save_pretrained" in str(caught.value)
    assert load_backend(settings.with_changes(image_backend="auto")) is None  # cards instead


def test_models_lists_the_local_model(tiny_model, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "S2I_DATA_DIR": str(tmp_path),
        "S2I_LOCAL_IMAGE_MODEL": str(tiny_model),
    }
    result = subprocess.run(
        [sys.executable, "-m", "s2i_core", "models", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    listed = json.loads(result.stdout)
    assert listed["backend"]["name"] == "local" and listed["default"] == str(tiny_model)
    assert listed["models"][0]["sizes"] == {"1:1": "64x64"}
