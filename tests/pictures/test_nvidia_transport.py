"""The NVIDIA client through its transport seam: each test answers the client's requests with a
small function (``MockTransport``, in the manner of httpx), no server and no socket. What the
client sends, how it reads each answer, and what a teacher is told when it goes wrong.

tests/pictures/test_nvidia_client.py runs the same client end to end against
tests/nvidia_stub.py."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable

import pytest
from PIL import Image

from s2i_core.errors import (
    BadImageError,
    ContentFilteredError,
    ImageAPIError,
    InvalidKeyError,
    InvalidRequestError,
    RateLimitedError,
    ServiceUnavailableError,
    ServiceUnreachableError,
    UnknownModelError,
)
from s2i_core.pictures import ImageParams
from s2i_core.pictures.nvidia import (
    MockTransport,
    NvidiaBackend,
    Request,
    Response,
    TransportError,
    TransportTimeout,
    Unreachable,
)
from s2i_core.settings import Settings
from tests.fake_clock import FakeClock

KEY = "nvapi-unit.test-key"
BASE = "https://genai.test/v1/genai"
STATUS = "https://nvcf.test/v2/nvcf/pexec/status"
SDXL = "stabilityai/stable-diffusion-xl"
SD3 = "stabilityai/stable-diffusion-3-medium"


def png(colour: tuple[int, int, int] = (200, 120, 40), side: int = 64) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def artifacts(seed: int = 7, reason: str = "SUCCESS", image: str | None = None) -> Response:
    body = {"artifacts": [{"base64": image or png(), "finishReason": reason, "seed": seed}]}
    return answer(200, body)


def answer(status: int, body: object = None, **headers: str) -> Response:
    content = b"" if body is None else json.dumps(body).encode()
    return Response(status, headers, content)


class Service:
    """Answers in turn (the last one again when they run out) and keeps every request."""

    def __init__(self, *answers: Response | Exception | Callable[[Request], Response]):
        self.answers = list(answers)
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        reply = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(reply, Exception):
            raise reply
        return reply(request) if callable(reply) else reply


def client(service: Service, clock: FakeClock | None = None, **settings) -> NvidiaBackend:
    clock = clock or FakeClock()
    values = {
        "nvidia_api_key": KEY,
        "nvidia_base_url": BASE,
        "nvcf_status_url": STATUS,
        "image_timeout": 60.0,
        "image_rpm": 0,
    }
    return NvidiaBackend(
        Settings(**(values | settings)),
        transport=MockTransport(service),
        clock=clock,
        sleep=clock.sleep,
        poll_interval=1.0,
        backoff_initial=1.0,
        backoff_max=1.0,
    )


def refusal(service: Service, params: ImageParams | None = None, **settings) -> ImageAPIError:
    with pytest.raises(ImageAPIError) as caught:
        client(service, **settings).generate("A fox.", params or ImageParams(SDXL))
    return caught.value


def test_the_contract_body_is_sent_with_the_key_to_the_model_url():
    service = Service(artifacts(seed=42))
    picture = client(service).generate("  A fox jumps. ", ImageParams(SDXL, seed=42))
    [sent] = service.requests
    assert (sent.method, sent.url) == ("POST", f"{BASE}/{SDXL}")
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.body["text_prompts"][0] == {"text": "A fox jumps.", "weight": 1}
    assert (picture.seed, picture.attempts, picture.format) == (42, 1, "PNG")


def test_an_sd3_answer_is_read_like_an_sdxl_one():
    service = Service(answer(200, {"image": png(), "finish_reason": "SUCCESS", "seed": 9}))
    picture = client(service).generate("A kite.", ImageParams(SD3))
    assert (picture.seed, picture.width) == (9, 64)
    assert service.requests[0].body["aspect_ratio"] == "1:1"


def test_a_queued_picture_is_collected_with_its_ticket():
    clock = FakeClock()
    queued = Response(202, {"NVCF-REQID": "t-1"}, b"")
    service = Service(queued, queued, artifacts())
    picture = client(service, clock).generate("A fox.", ImageParams(SDXL))
    polls = service.requests[1:]
    assert [(p.method, p.url) for p in polls] == [("GET", f"{STATUS}/t-1")] * 2
    assert all(p.headers["Authorization"] == f"Bearer {KEY}" for p in polls)
    assert clock.slept == [1.0, 1.0] and picture.attempts == 1


def test_a_queued_picture_without_a_ticket_is_a_clear_failure():
    error = refusal(Service(Response(202, {}, b"")))
    assert isinstance(error, ServiceUnavailableError) and "without a ticket" in str(error)


def test_a_queue_that_never_finishes_gives_up_inside_the_budget():
    clock = FakeClock()
    service = Service(Response(202, {"NVCF-REQID": "t-2"}, b""))
    with pytest.raises(ServiceUnavailableError, match="still had this picture queued"):
        client(service, clock, image_timeout=6).generate("A fox.", ImageParams(SDXL))
    assert 0 < sum(clock.slept) <= 6


def test_429_waits_for_retry_after():
    clock = FakeClock()
    service = Service(answer(429, {}, **{"Retry-After": "5"}), artifacts())
    picture = client(service, clock).generate("A fox.", ImageParams(SDXL))
    assert picture.attempts == 2 and clock.slept == [5.0]


def test_429_past_the_budget_is_rate_limited_with_the_wait():
    error = refusal(Service(answer(429, {}, **{"Retry-After": "600"})))
    assert isinstance(error, RateLimitedError) and error.retry_after == 600


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(status):
    service = Service(answer(status, {"title": "oops"}), artifacts())
    assert client(service).generate("A fox.", ImageParams(SDXL)).attempts == 2


def test_a_connection_that_fails_is_retried_and_said_plainly_when_it_keeps_failing():
    service = Service(TransportError("the connection was closed without an answer"), artifacts())
    assert client(service).generate("A fox.", ImageParams(SDXL)).attempts == 2
    error = refusal(Service(TransportError("the connection was closed without an answer")))
    assert isinstance(error, ServiceUnavailableError)
    assert "could not reach the picture service (the connection was closed" in str(error)


def test_a_request_that_runs_out_of_time_is_a_timeout():
    error = refusal(Service(TransportTimeout("no answer in time")), image_timeout=3)
    assert isinstance(error, ServiceUnavailableError)
    assert "did not finish this picture within 3 seconds" in str(error)


def test_an_unreachable_service_fails_at_once_and_is_remembered_for_a_moment():
    service = Service(Unreachable("Connection refused"))
    backend = client(service)
    for _ in range(2):
        with pytest.raises(ServiceUnreachableError, match="could not reach NVIDIA"):
            backend.generate("A fox.", ImageParams(SDXL))
    assert len(service.requests) == 1  # the second picture did not try again at once


@pytest.mark.parametrize(
    ("status", "error_type", "words"),
    [
        (401, InvalidKeyError, "refused the NVIDIA API key (HTTP 401)"),
        (403, InvalidKeyError, "refused the NVIDIA API key (HTTP 403)"),
        (404, UnknownModelError, "no longer offers stabilityai/stable-diffusion-xl"),
        (422, InvalidRequestError, "refused these picture settings (steps: too many)"),
    ],
)
def test_refusals_are_named_and_not_retried(status, error_type, words):
    detail = [{"loc": ["body", "steps"], "msg": "too many", "type": "value_error"}]
    service = Service(answer(status, {"detail": detail}))
    error = refusal(service)
    assert isinstance(error, error_type) and words in str(error)
    assert len(service.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [artifacts(reason="CONTENT_FILTERED"), artifacts(image=png((0, 0, 0)))],
    ids=["filtered", "black"],
)
def test_the_safety_filter_and_a_black_picture_are_filtered(reply):
    error = refusal(Service(reply))
    assert isinstance(error, ContentFilteredError) and "Reword the sentence" in str(error)


def test_an_answer_cut_short_is_retried_then_a_bad_image():
    cut = Response(200, {}, b'{"artifacts": [{"base64": "iVBO')
    assert client(Service(cut, artifacts())).generate("A fox.", ImageParams(SDXL)).attempts == 2
    assert isinstance(refusal(Service(cut)), BadImageError)


def test_no_key_ever_shows_in_an_error():
    other = "nvapi-someone.elses-key"
    service = Service(answer(422, {"detail": f"keys {KEY} and {other} are not allowed here"}))
    error = str(refusal(service))
    assert KEY not in error and other not in error
    assert "keys *** and nvapi-*** are not allowed" in error
