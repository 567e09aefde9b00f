"""FLUX.1 Kontext [dev]: the hero's picture sent with the frame, as NVIDIA's published schema says.

The stand-in (tests/nvidia_stub.py) checks every body against that schema
(``additionalProperties: false``); like a school's NIM container it takes the picture itself, and
with ``examples_only`` it answers like NVIDIA's hosted preview, which takes only its examples.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import pytest
from PIL import Image

from s2i_core.errors import ContentFilteredError, InvalidRequestError
from s2i_core.pictures import ImageParams
from s2i_core.pictures.nvidia import NvidiaBackend, request_schema, schema_problems
from s2i_core.pictures.nvidia.kontext import HOSTED_EXAMPLES_ONLY, KONTEXT_ID
from s2i_core.pictures.reference import compose_sheet, reference_from_png
from tests.conftest_nvidia import stub_client, stub_settings
from tests.nvidia_stub import NvidiaStub

HERO_COLOUR = (200, 20, 160)


@pytest.fixture
def stub() -> Iterator[NvidiaStub]:
    with NvidiaStub() as stub:
        yield stub


def hero(name="Rosie", size=(96, 160), colour=HERO_COLOUR):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return reference_from_png(name, buffer.getvalue())


def test_the_schema_is_closed_and_needs_an_input_image():
    schema = request_schema(KONTEXT_ID)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"prompt", "image"}
    assert schema_problems(KONTEXT_ID, {"prompt": "a fox"})  # text alone is refused
    extra = {"prompt": "a fox", "image": "data:image/png;example_id,1", "width": 1024}
    assert [p["loc"] for p in schema_problems(KONTEXT_ID, extra)] == [["body"]]


def test_a_frame_is_sent_with_its_hero_as_base64_png_of_the_right_size(stub):
    rosie = hero()
    with stub_client(stub) as client:
        params = ImageParams(KONTEXT_ID, aspect_ratio="16:9", seed=42)
        picture = client.generate("Rosie climbs the old oak tree.", params, reference=rosie)

    [request] = stub.generation_requests()
    assert request.status == 200 and request.path == f"/v1/genai/{KONTEXT_ID}"
    body = request.body
    assert set(body) == {"prompt", "image", "aspect_ratio", "steps", "cfg_scale", "seed"}
    assert body["aspect_ratio"] == "16:9" and body["steps"] == 30 and body["seed"] == 42
    assert "Rosie climbs the old oak tree." in body["prompt"] and "Keep Rosie" in body["prompt"]
    header, encoded = body["image"].split(",", 1)
    assert header == "data:image/png;base64"
    sent = Image.open(io.BytesIO(base64.b64decode(encoded, validate=True)))
    assert sent.format == "PNG" and sent.size == (96, 160)
    assert schema_problems(KONTEXT_ID, body) == []
    drawn = Image.open(io.BytesIO(picture.data)).convert("RGB")
    assert drawn.getpixel((drawn.width - 2, drawn.height - 2)) == HERO_COLOUR  # the hero is in it


def test_two_characters_travel_as_one_composed_sheet(stub):
    sheet = compose_sheet([hero("Rosie"), hero("Max", colour=(20, 200, 40))], height=160)
    with stub_client(stub) as client:
        client.generate("Rosie and Max share an apple.", ImageParams(KONTEXT_ID), reference=sheet)
    [request] = stub.generation_requests()
    assert "Keep Rosie and Max" in request.body["prompt"]
    sent = Image.open(io.BytesIO(base64.b64decode(request.body["image"].split(",", 1)[1])))
    assert sent.width > sent.height  # side by side


def test_a_hero_the_content_filter_rejects_is_a_filtered_frame(stub):
    stub.behaviour.filter_references = True
    with stub_client(stub) as client, pytest.raises(ContentFilteredError, match="safety filter"):
        client.generate("Rosie waves.", ImageParams(KONTEXT_ID), reference=hero())


def test_the_hosted_preview_is_named_plainly_and_never_sent_a_class_drawing(stub):
    stub.behaviour.examples_only = True
    settings = stub_settings(stub, nvidia_base_url="https://ai.api.nvidia.com/v1/genai")
    client = NvidiaBackend(settings)
    entry = client.reference_models[KONTEXT_ID]
    assert not entry.ready and entry.note == HOSTED_EXAMPLES_ONLY
    assert "example pictures" in entry.note and "NIM container" in entry.note
    with pytest.raises(InvalidRequestError, match="only its own example pictures"):
        client.generate("Rosie waves.", ImageParams(KONTEXT_ID), reference=hero())
    assert stub.generation_requests() == []


def test_the_stand_in_refuses_an_uploaded_picture_like_the_hosted_preview(stub):
    stub.behaviour.examples_only = True
    with stub_client(stub) as client, pytest.raises(InvalidRequestError, match="example"):
        client.generate("Rosie waves.", ImageParams(KONTEXT_ID), reference=hero())


def test_kontext_is_never_offered_as_a_story_model_and_lists_what_it_accepts(stub):
    with stub_client(stub) as client:
        assert KONTEXT_ID not in client.models
        accepts = client.reference_models[KONTEXT_ID].options()["accepts"]
    assert accepts["reference_images"] == 1 and accepts["text_to_image"] is False
    assert "composed sheet" in accepts["several_characters"]


def test_models_json_lists_what_each_model_accepts(monkeypatch, capsys, tmp_path):
    from s2i_core.cli import main

    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_NVIDIA_BASE_URL", "http://nim.school.example:8000/v1/infer")
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {m["accepts"]["reference_images"] for m in listed["models"]} == {0}
    [kontext] = listed["reference_models"]
    assert kontext["id"] == KONTEXT_ID and kontext["ready"] is True  # a school's own container
    assert kontext["accepts"]["reference_types"] == ["image/png", "image/jpeg"]
    assert kontext["steps"] == {"min": 10, "max": 50, "default": 30}

    monkeypatch.delenv("S2I_NVIDIA_BASE_URL")
    assert main(["models", "--json"]) == 0
    [hosted] = json.loads(capsys.readouterr().out)["reference_models"]
    assert hosted["ready"] is False and "example pictures" in hosted["note"]
