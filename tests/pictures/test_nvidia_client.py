"""The real NVIDIA client against the local stand-in server that speaks the same contract."""

from __future__ import annotations

import io
import logging
import re
import socket
import time
import traceback
from collections.abc import Iterator

import pytest
import requests
from PIL import Image, ImageChops, ImageStat

from s2i_core.errors import (
    BadImageError,
    ContentFilteredError,
    ImageAPIError,
    InvalidKeyError,
    InvalidRequestError,
    MissingKeyError,
    RateLimitedError,
    ServiceUnavailableError,
    ServiceUnreachableError,
    UnknownModelError,
)
from s2i_core.pictures import GeneratedImage, ImageParams, generate_many, get_model
from s2i_core.pictures.limiter import RateLimiter
from s2i_core.pictures.nvidia import NVIDIA_MODELS, NvidiaBackend
from s2i_core.settings import Settings
from tests.conftest_nvidia import stub_client, stub_settings
from tests.fake_clock import FakeClock
from tests.nvidia_stub import FAKE_KEY, NvidiaStub

SDXL = "stabilityai/stable-diffusion-xl"
SD3 = "stabilityai/stable-diffusion-3-medium"

# The bodies the contract (shared/docs/nvidia-genai-api.md) shows for each model's defaults.
CONTRACT_BODIES = {
    SDXL: {
        "text_prompts": [{"text": "A fox jumps.", "weight": 1}, {"text": "blurry", "weight": -1}],
        "cfg_scale": 5,
        "sampler": "K_DPM_2_ANCESTRAL",
        "seed": 0,
        "steps": 25,
        "height": 1024,
        "width": 1024,
    },
    SD3: {
        "prompt": "A fox jumps.",
        "negative_prompt": "blurry",
        "cfg_scale": 5,
        "aspect_ratio": "1:1",
        "seed": 0,
        "steps": 50,
        "mode": "text-to-image",
    },
    "black-forest-labs/flux.1-schnell": {
        "prompt": "A fox jumps.",
        "width": 1024,
        "height": 1024,
        "seed": 0,
        "steps": 4,
        "mode": "base",
        "cfg_scale": 0,
    },
    "black-forest-labs/flux.1-dev": {
        "prompt": "A fox jumps.",
        "width": 1024,
        "height": 1024,
        "seed": 0,
        "steps": 50,
        "mode": "base",
        "cfg_scale": 5,
    },
    "black-forest-labs/flux.2-klein-4b": {
        "prompt": "A fox jumps.",
        "width": 1024,
        "height": 1024,
        "seed": 0,
        "steps": 4,
        "mode": "Image Generation",
        "cfg_scale": 0,
    },
}
FLUX_DEV = "black-forest-labs/flux.1-dev"


@pytest.fixture
def stub() -> Iterator[NvidiaStub]:
    with NvidiaStub() as stub:
        yield stub


def fake_time(clock: FakeClock) -> dict:
    """Client options that make it read and wait on ``clock`` instead of the wall clock."""
    return {"clock": clock, "sleep": clock.sleep}


def steady_backoff(clock: FakeClock) -> dict:
    """A fake clock and 10 s between retries, no jitter: the attempts fall at known times, and
    each real request may take as long as the many seconds of budget left."""
    return fake_time(clock) | {"backoff_initial": 10.0, "backoff_max": 10.0}


def failure(
    stub: NvidiaStub, params: ImageParams | None = None, client_options=None, **settings
) -> ImageAPIError:
    """The error one picture ends in, from a client with these settings."""
    with stub_client(stub, client_options, **settings) as client:
        return raised_by(client, params)


def raised_by(client: NvidiaBackend, params: ImageParams | None = None) -> ImageAPIError:
    with pytest.raises(ImageAPIError) as caught:
        client.generate("A fox in the story.", params or ImageParams(SDXL))
    return caught.value


def pixels(picture: GeneratedImage) -> Image.Image:
    return Image.open(io.BytesIO(picture.data)).convert("RGB")


# --- bodies and response shapes ----------------------------------------------------------------
@pytest.mark.parametrize("model_id", sorted(CONTRACT_BODIES))
def test_each_model_gets_the_contract_body_and_a_real_picture(stub: NvidiaStub, model_id):
    with stub_client(stub) as client:
        params = ImageParams(model=model_id, negative_prompt="blurry")
        picture = client.generate("  A fox jumps. ", params)

    [request] = stub.generation_requests()
    assert request.path == f"/v1/genai/{model_id}"
    assert request.body == CONTRACT_BODIES[model_id]
    assert request.status == 200  # the stand-in found nothing to refuse in the body
    assert (picture.format, picture.attempts) == ("PNG", 1)
    assert pixels(picture).size == (picture.width, picture.height)
    assert picture.seed > 0  # seed 0 asks the service to choose; the one it chose comes back


def test_sd3_and_sdxl_answers_are_both_read(stub: NvidiaStub):
    """SD3 answers {"image": ...}; SDXL and FLUX answer {"artifacts": [...]}."""
    with stub_client(stub) as client:
        sd3 = client.generate("A red kite over the sea.", ImageParams(model=SD3, seed=42))
        sdxl = client.generate("A red kite over the sea.", ImageParams(model=SDXL, seed=42))
    assert sd3.seed == sdxl.seed == 42
    assert sd3.data == sdxl.data  # same prompt, same stand-in drawing, whichever shape


def test_different_sentences_give_visibly_different_pictures(stub: NvidiaStub):
    with stub_client(stub) as client:
        first = client.generate("The dragon slept in the cave.", ImageParams(SDXL))
        second = client.generate("The children built a snowman.", ImageParams(SDXL))
    difference = ImageStat.Stat(ImageChops.difference(pixels(first), pixels(second)))
    assert sum(difference.mean) / 3 > 20


def test_one_connection_is_reused_for_sequential_pictures(stub: NvidiaStub):
    with stub_client(stub) as client:
        for sentence in ("One.", "Two.", "Three."):
            client.generate(sentence, ImageParams(SDXL))
    assert len({r.client_port for r in stub.generation_requests()}) == 1


def test_a_shape_is_an_aspect_ratio_for_sd3_and_a_size_for_flux(stub: NvidiaStub):
    with stub_client(stub) as client:
        client.generate("Wide.", ImageParams(model=SD3, aspect_ratio="16:9"))
        client.generate("Wide.", ImageParams(model=FLUX_DEV, aspect_ratio="16:9"))
    sd3, flux = stub.generation_requests()
    assert sd3.body["aspect_ratio"] == "16:9" and "width" not in sd3.body
    assert (flux.body["width"], flux.body["height"]) == (1344, 768)
    assert sd3.status == flux.status == 200


# --- refused before any request ----------------------------------------------------------------
def test_missing_key_fails_without_any_request(stub: NvidiaStub):
    error = failure(stub, nvidia_api_key="")
    assert isinstance(error, MissingKeyError) and "NVIDIA_API_KEY" in str(error)
    assert stub.records == []


def test_model_outside_the_registry_is_named_with_the_choices(stub: NvidiaStub):
    with pytest.raises(UnknownModelError) as caught:
        get_model(NVIDIA_MODELS, "acme/paint-o-matic")
    assert "acme/paint-o-matic" in str(caught.value)
    assert all(model_id in str(caught.value) for model_id in NVIDIA_MODELS)
    with stub_client(stub) as client, pytest.raises(UnknownModelError):
        client.generate("A fox.", ImageParams(model="acme/paint-o-matic"))
    assert stub.records == []


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (ImageParams(model=SDXL, steps=4), "from 5 to 100"),
        (ImageParams(model=SDXL, cfg_scale=9.5), "above 1 up to 9"),
        (ImageParams(model=SDXL, cfg_scale=1), "above 1 up to 9"),
        (ImageParams(model=SDXL, sampler="K_EULER"), "K_DPM_2_ANCESTRAL, K_EULER_ANCESTRAL, DDIM"),
        (ImageParams(model=SDXL, aspect_ratio="16:9"), r"choose one of 1:1\)"),
        (ImageParams(model=SDXL, seed=-1), "0 to 4294967295"),
        (ImageParams(model=SDXL, seed=4_294_967_296), "0 to 4294967295"),
        (ImageParams(model=SD3, aspect_ratio="21:9"), "1:1, 16:9, 9:16, 5:4, 4:5, 3:2, 2:3"),
        (ImageParams(model=FLUX_DEV, steps=2), "from 5 to 100"),
        (ImageParams(model="black-forest-labs/flux.1-schnell", cfg_scale=3), "no guidance"),
        (ImageParams(model="stabilityai/sdxl-turbo"), "not a picture model"),
    ],
)
def test_values_the_model_refuses_are_explained_without_a_request(stub, params, words):
    with stub_client(stub) as client, pytest.raises((InvalidRequestError, UnknownModelError)) as e:
        client.generate("A fox.", params)
    assert re.search(words, str(e.value))
    assert stub.records == []


# --- queueing ------------------------------------------------------------------------------------
def test_queued_picture_is_collected_from_the_status_endpoint(stub: NvidiaStub):
    stub.behaviour.queue_polls = 3
    with stub_client(stub) as client:
        picture = client.generate("A queued fox.", ImageParams(SDXL))
    polls = stub.poll_requests()
    assert len(stub.generation_requests()) == 1
    assert [p.status for p in polls] == [202, 202, 200]
    assert all(p.authorized and p.path.startswith("/v2/nvcf/pexec/status/stub-") for p in polls)
    assert picture.width == 512


def test_queue_that_never_finishes_gives_up_within_the_budget(stub: NvidiaStub):
    clock = FakeClock()  # moves only when the client pauses between polls
    stub.fail_next("never_ready")
    options = fake_time(clock) | {"poll_interval": 1.0}
    error = failure(stub, client_options=options, image_timeout=6)
    assert isinstance(error, ServiceUnavailableError)
    assert "still had this picture queued" in str(error)
    assert 0 < sum(clock.slept) <= 6  # it paused between polls and stopped inside its budget
    polls = stub.poll_requests()
    assert len(polls) >= 2 and {p.status for p in polls} == {202}


# --- rate limiting ---------------------------------------------------------------------------
def test_429_waits_for_retry_after_then_succeeds(stub: NvidiaStub):
    clock = FakeClock()
    stub.behaviour.retry_after = 5
    stub.fail_next("429", "429")
    with stub_client(stub, fake_time(clock), image_timeout=60) as client:
        picture = client.generate("A patient fox.", ImageParams(SDXL))
    assert picture.attempts == 3 and len(stub.generation_requests()) == 3
    assert clock.slept == [5.0, 5.0]  # Retry-After, not the much shorter backoff


def test_429_storm_ends_in_rate_limited_within_budget_and_under_the_limit(stub):
    clock = FakeClock()
    stub.clock = clock  # arrivals stamped on the client's clock: exact, not jittered
    stub.behaviour.always = "429"
    stub.behaviour.retry_after = 1
    limiter = RateLimiter(3, 30.0, clock, clock.sleep)
    options = fake_time(clock) | {"rate_limiter": limiter}
    error = failure(stub, client_options=options, image_timeout=100)
    assert isinstance(error, RateLimitedError) and error.retry_after is not None
    assert sum(clock.slept) <= 100  # it gave up inside its budget
    assert len(stub.generation_requests()) >= 4
    assert stub.max_in_window(30.0) <= 3


def test_rate_limiter_holds_across_threads(stub: NvidiaStub):
    """Eight threads ask at once while the window cannot end: three get through; once the
    window has passed, three more."""
    clock = FakeClock()  # stands still unless the test moves it
    limiter = RateLimiter(3, 30.0, clock, clock.sleep)
    jobs = [(n, f"Fox number {n}.", ImageParams(SDXL)) for n in range(8)]
    options = fake_time(clock) | {"rate_limiter": limiter}
    with stub_client(stub, options, image_timeout=10) as client:
        first = dict(generate_many(client, jobs))
        clock.advance(30)
        second = dict(generate_many(client, jobs[:4]))
    drawn = [r for r in first.values() if isinstance(r, GeneratedImage)]
    refused = [r for r in first.values() if isinstance(r, RateLimitedError)]
    assert (len(drawn), len(refused)) == (3, 5)
    assert sum(isinstance(r, GeneratedImage) for r in second.values()) == 3
    assert len(stub.generation_requests()) == 6
    assert clock.slept == []  # no slot could free before the deadline: nobody waited in vain


def test_rate_limiter_refuses_when_no_slot_frees_before_the_deadline():
    clock = FakeClock()
    limiter = RateLimiter(2, 5.0, clock, clock.sleep)
    assert limiter.acquire() and limiter.acquire()
    assert limiter.acquire(deadline=clock() + 0.2) is False
    assert clock.slept == []  # it says no at once instead of waiting in vain
    assert limiter.wait_time() == 5.0


def test_rate_limiter_counts_a_rolling_window():
    clock = FakeClock()
    limiter = RateLimiter(2, 30.0, clock, clock.sleep)
    stamps = []
    for _ in range(5):
        limiter.acquire()
        stamps.append(clock())
    assert stamps == [1000.0, 1000.0, 1030.0, 1030.0, 1060.0]


# --- transient failures ------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["500", "502", "503"])
def test_server_errors_are_retried_then_succeed(stub: NvidiaStub, fault):
    stub.fail_next(fault, fault)
    with stub_client(stub) as client:
        picture = client.generate("A resilient fox.", ImageParams(SDXL))
    assert picture.attempts == 3
    assert [r.status for r in stub.generation_requests()] == [int(fault)] * 2 + [200]


def test_persistent_server_errors_end_in_service_unavailable(stub: NvidiaStub):
    clock = FakeClock()
    stub.behaviour.always = "503"
    error = failure(stub, client_options=steady_backoff(clock), image_timeout=45)
    assert isinstance(error, ServiceUnavailableError) and "HTTP 503" in str(error)
    assert clock.slept == [10.0] * 4  # retried, and stopped before a wait past the budget
    assert len(stub.generation_requests()) == 5


def test_dropped_connection_is_retried(stub: NvidiaStub):
    stub.fail_next("hangup")
    with stub_client(stub) as client:
        picture = client.generate("A fox on a bad line.", ImageParams(SDXL))
    assert picture.attempts == 2


def test_slow_service_times_out_within_budget(stub: NvidiaStub):
    stub.behaviour.always = "slow"
    stub.behaviour.slow_seconds = 120  # far past any wait the test would sit through
    started = time.monotonic()
    error = failure(stub, image_timeout=0.5)
    assert isinstance(error, ServiceUnavailableError) and "within 0.5 seconds" in str(error)
    assert time.monotonic() - started < 60  # a hang guard only: the stub answers after 120 s


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free again once the probe closes: nothing listens there


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://127.0.0.1:{closed_port}/v1/genai", "Connection refused"),
        ("http://picture-service.invalid/v1/genai", "could not reach"),  # no such host (DNS)
    ],
)
def test_unreachable_service_fails_at_once_without_retries(base_url, reason):
    """The teacher hears "offline" in seconds, not after the whole 120 s retry budget."""
    base_url = base_url.format(closed_port=_closed_port())  # chosen now: the ids stay the same
    clock = FakeClock()
    settings = Settings(nvidia_api_key=FAKE_KEY, nvidia_base_url=base_url, image_timeout=120)
    with NvidiaBackend(settings, backoff_initial=0.05, **fake_time(clock)) as client:
        first = raised_by(client)
        second = raised_by(client)  # the next frame does not wait for its own attempt
    assert clock.slept == []  # no retry, no backoff
    assert isinstance(first, ServiceUnreachableError) and not first.retryable
    assert reason in str(first) and "offline" in str(first)
    assert isinstance(second, ServiceUnreachableError) and "offline" in str(second)


def test_cut_short_answer_is_retried(stub: NvidiaStub):
    stub.fail_next("truncated")
    with stub_client(stub) as client:
        assert client.generate("A fox.", ImageParams(SDXL)).attempts == 2


def test_answers_that_stay_cut_short_end_in_bad_image(stub: NvidiaStub):
    stub.behaviour.always = "truncated"
    error = failure(stub, client_options=steady_backoff(FakeClock()), image_timeout=45)
    assert isinstance(error, BadImageError) and "could not read" in str(error)
    assert len(stub.generation_requests()) == 5  # at 0, 10, 20, 30 and 40 s of a 45 s budget


# --- refusals that are not retried ---------------------------------------------------------------
def test_wrong_key_is_refused_once_without_retry(stub: NvidiaStub):
    error = failure(stub, nvidia_api_key="nvapi-test.wrong-key")
    assert isinstance(error, InvalidKeyError) and "HTTP 401" in str(error)
    [request] = stub.generation_requests()
    assert not request.authorized


def test_forbidden_is_an_invalid_key_without_retry(stub: NvidiaStub):
    stub.fail_next("403", "403")
    with stub_client(stub) as client, pytest.raises(InvalidKeyError, match="HTTP 403"):
        client.generate("A fox.", ImageParams(SDXL))
    assert len(stub.generation_requests()) == 1


def test_model_the_service_dropped_is_unknown(stub: NvidiaStub):
    stub.behaviour.retired_models = {"black-forest-labs/flux.1-dev"}
    error = failure(stub, params=ImageParams(model="black-forest-labs/flux.1-dev"))
    assert isinstance(error, UnknownModelError) and "flux.1-dev" in str(error)
    assert len(stub.generation_requests()) == 1


def test_422_detail_list_becomes_a_readable_sentence(stub: NvidiaStub):
    stub.fail_next("422")
    error = failure(stub)
    assert isinstance(error, InvalidRequestError)
    assert "(steps: Input should be less than or equal to 100)" in str(error)
    assert "{" not in str(error) and "loc" not in str(error)
    assert len(stub.generation_requests()) == 1


def test_stand_in_refuses_a_body_that_breaks_the_contract(stub: NvidiaStub):
    """The other tests trust the stand-in to check bodies; this checks that it does."""
    response = requests.post(
        f"{stub.base_url}/{SDXL}",
        json={"text_prompts": [{"text": "A fox.", "weight": 1}], "steps": 500},
        headers={"Authorization": f"Bearer {stub.key}"},
        timeout=5,
    )
    [problem] = response.json()["detail"]
    assert response.status_code == 422
    assert problem["loc"] == ["body", "steps"] and "100" in problem["msg"]


@pytest.mark.parametrize("model_id", [SDXL, SD3])
def test_safety_filter_is_reported_as_filtered(stub: NvidiaStub, model_id):
    with stub_client(stub) as client, pytest.raises(ContentFilteredError, match="safety"):
        client.generate("A FILTERME fox.", ImageParams(model=model_id))
    assert len(stub.generation_requests()) == 1


def test_black_success_picture_counts_as_filtered(stub: NvidiaStub):
    stub.fail_next("black")
    with stub_client(stub) as client, pytest.raises(ContentFilteredError, match="black"):
        client.generate("A fox at night.", ImageParams(SDXL))


@pytest.mark.parametrize("fault", ["not_image", "oversized"])
def test_unusable_pictures_are_bad_images(stub: NvidiaStub, fault):
    stub.fail_next(fault)
    with stub_client(stub) as client, pytest.raises(BadImageError):
        client.generate("A fox.", ImageParams(SDXL))
    assert len(stub.generation_requests()) == 1


# --- many pictures -----------------------------------------------------------------------------
def test_many_pictures_run_in_parallel_up_to_the_concurrency(stub: NvidiaStub):
    """The stub holds requests until four wait together: eight pictures go in two rounds of four,
    never five at once (the peak), never one at a time (a lone request would never be released)."""
    stub.behaviour.hold_until_in_flight = 4
    jobs = [(n, f"Frame {n}: the fox runs.", ImageParams(SDXL)) for n in range(8)]
    with stub_client(stub, image_concurrency=4) as client:
        results = dict(generate_many(client, jobs))
    assert sorted(results) == list(range(8))
    assert all(isinstance(r, GeneratedImage) for r in results.values())
    assert stub.peak_in_flight == 4
    assert len(stub.generation_requests()) == 8


def test_many_pictures_yield_errors_and_finish_in_completion_order(stub: NvidiaStub):
    jobs = [
        ("slow", "A slow fox.", ImageParams(SDXL)),
        ("filtered", "A FILTERME fox.", ImageParams(SDXL)),
        ("invalid", "A fox.", ImageParams(SDXL, steps=999)),
    ]
    stub.behaviour.hold_after = 0  # the service holds every picture until the test lets go
    with stub_client(stub, image_concurrency=3) as client:
        results = generate_many(client, jobs)
        first = next(results)  # refused at once, while the others are still being drawn
        stub.release_held()
        outcome = dict([first, *results])
    assert first[0] == "invalid" and isinstance(first[1], InvalidRequestError)
    assert isinstance(outcome["slow"], GeneratedImage)
    assert isinstance(outcome["filtered"], ContentFilteredError)
    assert len(stub.generation_requests()) == 2  # the invalid one never reached the service


# --- the key stays secret ----------------------------------------------------------------------
def test_key_never_shows_in_errors_logs_or_reprs(stub: NvidiaStub, caplog):
    caplog.set_level(logging.DEBUG)
    key = "nvapi-test.secret-value"
    stub_key = stub.key
    errors: list[ImageAPIError] = []
    with stub_client(stub, nvidia_api_key=key, image_timeout=0.5) as wrong_key:
        errors.append(raised_by(wrong_key))
        shown = [repr(wrong_key), str(wrong_key), repr(wrong_key.settings)]
    stub.key = key
    for fault in ("422", "503", "hangup", "not_image"):
        stub.behaviour.always = fault
        errors.append(failure(stub, nvidia_api_key=key, image_timeout=0.5))
    stub.key = stub_key
    offline = stub_settings(
        stub,
        nvidia_api_key=key,
        image_timeout=0.5,
        nvidia_base_url="http://127.0.0.1:9/v1/genai",
    )
    with NvidiaBackend(offline, backoff_initial=0.05) as client:
        errors.append(raised_by(client))
    for error in errors:
        shown += [str(error), repr(error), "".join(traceback.format_exception(error))]
    shown.append(caplog.text)
    assert len(errors) == 6 and caplog.text
    assert not [text for text in shown if key in text]
