"""NVIDIA's hosted image models: the catalogue and the HTTP client, faithful to the published
request schemas (shared/docs/nvidia-genai-api.md; the schemas are ``schemas/*.json`` here).

Every body is validated against its model's JSON Schema before it is sent, so a body the service
would refuse fails here, in a test, and not in a lesson. One ``NvidiaBackend`` per process: it owns
the request-rate limiter and the connection slots, so every picture the app asks for shares the
same budget.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential_jitter
from urllib3.exceptions import NewConnectionError, ReadTimeoutError

from ..errors import (
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
from ..i18n import msg
from ..settings import Settings
from .base import CfgRange, GeneratedImage, ImageModel, ImageParams, get_model, register
from .images import BlankImageError, verify_image
from .limiter import RequestLimiter, limiter_for

log = logging.getLogger(__name__)

DEFAULT_MODEL = "stabilityai/stable-diffusion-xl"
CONNECT_TIMEOUT = 10.0
FILTERED = "CONTENT_FILTERED"
SCHEMAS_DIR = Path(__file__).with_name("schemas")
# Models NVIDIA no longer hosts (the service answers 404): stories saved with one are redrawn
# with the default model.
RETIRED_MODELS = {"stabilityai/sdxl-turbo": "SDXL Turbo"}
# How long after finding the service unreachable further pictures fail at once instead of each
# waiting for its own connection attempt.
OFFLINE_MEMORY_S = 5.0


# --- the catalogue -----------------------------------------------------------------------------
def _flux_shapes() -> dict[str, tuple[int, int]]:
    """The common shapes inside FLUX's 768-1344 px sides in steps of 64, square first."""
    return {
        "1:1": (1024, 1024),
        "4:3": (1152, 896),
        "3:4": (896, 1152),
        "3:2": (1216, 832),
        "2:3": (832, 1216),
        "16:9": (1344, 768),
        "9:16": (768, 1344),
    }


def _sd3_shapes() -> dict[str, tuple[int, int]]:
    """SD3 takes an aspect ratio; the sizes are what it draws for each, about a megapixel."""
    return {
        "1:1": (1024, 1024),
        "16:9": (1344, 768),
        "9:16": (768, 1344),
        "5:4": (1152, 896),
        "4:5": (896, 1152),
        "3:2": (1216, 832),
        "2:3": (832, 1216),
    }


GUIDED = CfgRange(low=1.0, high=9.0, default=5.0)  # "> 1 and <= 9", the hosted models' range

NVIDIA_MODELS: dict[str, ImageModel] = {
    model.id: model
    for model in (
        ImageModel(
            id="stabilityai/stable-diffusion-xl",
            label="Stable Diffusion XL",
            backend="nvidia",
            family="sdxl",
            shapes={"1:1": (1024, 1024)},
            steps=(5, 100),
            default_steps=25,
            cfg=GUIDED,
            samplers=("K_DPM_2_ANCESTRAL", "K_EULER_ANCESTRAL", "DDIM", "K_LMS"),
            negative_prompt=True,
            note=msg("Square pictures only."),
        ),
        ImageModel(
            id="stabilityai/stable-diffusion-3-medium",
            label="Stable Diffusion 3 Medium",
            backend="nvidia",
            family="sd3",
            shapes=_sd3_shapes(),
            steps=(5, 100),
            default_steps=50,
            cfg=GUIDED,
            negative_prompt=True,
            note=msg("Seven shapes; good at text in pictures."),
        ),
        ImageModel(
            id="black-forest-labs/flux.1-schnell",
            label=msg("{name} (fast)", name="FLUX.1 schnell"),
            backend="nvidia",
            family="flux1",
            shapes=_flux_shapes(),
            steps=(1, 4),
            default_steps=4,
            cfg=None,
            note=msg("Four steps: the quickest pictures."),
        ),
        ImageModel(
            id="black-forest-labs/flux.1-dev",
            label="FLUX.1 dev",
            backend="nvidia",
            family="flux1",
            shapes=_flux_shapes(),
            steps=(5, 100),
            default_steps=50,
            cfg=GUIDED,
            note=msg("Detailed pictures; slower."),
        ),
        ImageModel(
            id="black-forest-labs/flux.2-klein-4b",
            label=msg("{name} (fast)", name="FLUX.2 klein 4B"),
            backend="nvidia",
            family="flux2",
            shapes=_flux_shapes(),
            steps=(1, 4),
            default_steps=4,
            cfg=None,
            note=msg("FLUX.2 in four steps."),
        ),
    )
}
MODES = {"sd3": "text-to-image", "flux1": "base", "flux2": "Image Generation"}


@cache
def request_schema(model_id: str) -> dict[str, Any]:
    """The published JSON Schema of ``model_id``'s request body."""
    path = SCHEMAS_DIR / f"{model_id.split('/', 1)[1]}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validator(model_id: str) -> jsonschema.protocols.Validator:
    schema = request_schema(model_id)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_problems(model_id: str, body: Any) -> list[dict[str, Any]]:
    """What is wrong with ``body`` for ``model_id``, as the service's 422 ``detail`` items
    (``{"loc", "msg", "type"}``); empty when the body fits the schema."""
    errors = sorted(_validator(model_id).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [
        {"loc": ["body", *error.absolute_path], "msg": error.message, "type": error.validator}
        for error in errors
    ]


def build_request_body(model: ImageModel, prompt: str, params: ImageParams) -> dict[str, Any]:
    """The JSON body for ``POST {base}/{model.id}``, checked against the model's schema."""
    prompt = prompt.strip()
    if not prompt:
        raise InvalidRequestError(msg("There is no sentence to draw. Write one and try again."))
    p = params.resolved(model)
    if model.family == "sdxl":
        text_prompts = [{"text": prompt, "weight": 1}]
        if p.negative_prompt:
            text_prompts.append({"text": p.negative_prompt, "weight": -1})
        width, height = p.size(model)
        body: dict[str, Any] = {
            "text_prompts": text_prompts,
            "cfg_scale": _number(p.cfg_scale),
            "sampler": p.sampler,
            "seed": p.seed,
            "steps": p.steps,
            "height": height,
            "width": width,
        }
    elif model.family == "sd3":
        body = {"prompt": prompt}
        if p.negative_prompt:
            body["negative_prompt"] = p.negative_prompt
        body |= {
            "cfg_scale": _number(p.cfg_scale),
            "aspect_ratio": p.aspect_ratio,
            "seed": p.seed,
            "steps": p.steps,
            "mode": MODES["sd3"],
        }
    else:
        width, height = p.size(model)
        body = {"prompt": prompt, "width": width, "height": height, "seed": p.seed}
        body |= {"steps": p.steps, "mode": MODES[model.family]}
        body["cfg_scale"] = 0 if p.cfg_scale is None else _number(p.cfg_scale)
    problems = schema_problems(model.id, body)
    if problems:  # a bug in this module, never the teacher's input: resolved() checked that
        raise InvalidRequestError(
            msg(
                "We built a request {label} would refuse ({readable_detail}). Choose "
                "other picture settings, and report this to whoever looks after the app.",
                label=model.label,
                readable_detail=readable_detail(problems),
            )
        )
    return body


def _number(value: float | None) -> int | float:
    return int(value) if float(value).is_integer() else value


def readable_detail(detail: Any) -> str:
    """A 422's ``detail`` (a list of ``{loc, msg, type}``, or a string) as one short sentence."""
    if isinstance(detail, list):
        parts = []
        for item in detail[:4]:
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            loc = [str(p) for p in item.get("loc") or () if p != "body"]
            where = ".".join(loc)
            message = str(item.get("msg") or item.get("type") or "is not accepted")
            parts.append(f"{where}: {message}" if where else message)
        more = len(detail) - 4
        return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return str(detail or "")


def retired_model_label(model_id: str) -> str | None:
    return RETIRED_MODELS.get(model_id)


# --- HTTP sessions -----------------------------------------------------------------------------
class _SessionPool:
    """``size`` connection slots, each with its own requests.Session.

    A Session is not guaranteed thread-safe, so no two threads use one at once; holding a slot
    is also what bounds the number of requests in flight.
    """

    def __init__(self, size: int, headers: dict[str, str]):
        self._slots = threading.BoundedSemaphore(size)
        self._headers = headers
        self._idle: list[requests.Session] = []
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    @contextmanager
    def session(self, timeout: float) -> Iterator[requests.Session]:
        if not self._slots.acquire(timeout=max(0.0, timeout)):
            raise ServiceUnavailableError(
                msg(
                    "Every connection to the picture service stayed busy until this "
                    "picture's time ran out. Try again in a minute."
                )
            )
        try:
            with self._lock:
                session = self._idle.pop() if self._idle else self._new_session()
            try:
                yield session
            finally:
                with self._lock:
                    self._idle.append(session)
        finally:
            self._slots.release()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update(self._headers)
        self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._all:
                session.close()


class _UnreadableAnswer(BadImageError):
    """A 200 whose body is not the JSON we expect (cut short, or not JSON); worth retrying."""

    retryable = True


class _TimedOut(ServiceUnavailableError):
    """This picture's time budget ran out during a request."""


def _is_timeout(error: requests.RequestException) -> bool:
    # requests reports a read timeout in the middle of a body as a ConnectionError
    cause = error.args[0] if error.args else None
    return isinstance(error, requests.Timeout) or isinstance(cause, ReadTimeoutError)


def _is_unreachable(error: requests.RequestException) -> bool:
    """No connection could be opened at all: refused, no such host (DNS), no route. Waiting a few
    seconds will not change that, so such a failure is not retried."""
    cause = error.args[0] if error.args else None
    return isinstance(getattr(cause, "reason", None), NewConnectionError)


def _should_retry(error: BaseException) -> bool:
    return isinstance(error, ImageAPIError) and error.retryable


_KEY_PATTERN = re.compile(r"nvapi-[^\s'\"&,;]+")


# --- the backend -------------------------------------------------------------------------------
@register("nvidia")
class NvidiaBackend:
    """Draws one picture per prompt with NVIDIA's hosted models; see ``generate``.

    ``rate_limiter`` defaults to ``limiter_for(settings)`` (``S2I_IMAGE_RPM`` per minute; none
    when 0); any ``RequestLimiter`` can be passed instead. ``poll_interval``
    is the pause between status polls of a queued picture; ``backoff_initial``/``backoff_max``
    shape the exponential, jittered pause between retries.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        rate_limiter: RequestLimiter | None = None,
        poll_interval: float = 1.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 16.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self._clock = clock  # deadlines, waits and the offline memory read this; tests pass a fake
        self._sleep = sleep
        self.name = "nvidia"
        self.label = "NVIDIA (hosted)"
        self.models = _catalogue(settings.image_model)
        self.concurrency = max(1, settings.image_concurrency)
        for model_id in self.models:  # compiled once here, not while a storyboard waits
            _validator(model_id)
        self._key = settings.nvidia_api_key.strip()
        self._base_url = settings.nvidia_base_url.rstrip("/")
        self._status_url = settings.nvcf_status_url.rstrip("/")
        self._limiter = (
            rate_limiter if rate_limiter is not None else limiter_for(settings, clock, sleep)
        )
        self._offline_until = 0.0  # monotonic time until which the host counts as unreachable
        self._poll_interval = poll_interval
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
        headers = {
            "Authorization": f"Bearer {self._key}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "story-to-images/1.0",
        }
        self._pool = _SessionPool(max(1, settings.image_concurrency), headers)

    def __repr__(self) -> str:
        key_state = "set" if self._key else "missing"
        return (
            f"NvidiaBackend(base_url={self._base_url!r}, key={key_state}, "
            f"concurrency={self.settings.image_concurrency}, rpm={self.settings.image_rpm})"
        )

    def __enter__(self) -> NvidiaBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.close()

    # --- one picture ---------------------------------------------------------------------------
    def generate(self, prompt: str, params: ImageParams) -> GeneratedImage:
        """Draw one picture. Retries 429, 5xx, timeouts and broken answers within
        ``settings.image_timeout`` seconds; fails at once when the service cannot be reached at
        all; raises an ImageAPIError subclass otherwise."""
        if not self._key:
            raise MissingKeyError(
                msg(
                    "No NVIDIA API key is set, so no pictures can be drawn. Add "
                    "NVIDIA_API_KEY to the environment or to .streamlit/secrets.toml, then "
                    "try again."
                )
            )
        model = get_model(self.models, params.model)
        body = build_request_body(model, prompt, params)
        started = self._clock()
        deadline = started + self.settings.image_timeout
        retrying = Retrying(
            retry=retry_if_exception(_should_retry),
            wait=self._wait_before_retry,
            stop=lambda state: self._clock() + state.upcoming_sleep >= deadline,
            before_sleep=_log_retry,
            sleep=self._sleep,
            reraise=True,
        )
        attempts = 0

        def attempt() -> tuple[bytes, str, int, int, int | None]:
            nonlocal attempts
            attempts += 1
            return self._attempt(model, body, deadline)

        data, image_format, width, height, seed = retrying(attempt)
        elapsed = self._clock() - started
        log.info("drew a picture with %s in %.1f s (%d attempt(s))", model.id, elapsed, attempts)
        return GeneratedImage(
            data,
            image_format,
            width,
            height,
            seed if seed is not None else body["seed"],
            attempts,
            elapsed,
        )

    def _wait_before_retry(self, state: RetryCallState) -> float:
        backoff = self._backoff(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return max(error.retry_after, backoff)
        return backoff

    def _attempt(
        self, model: ImageModel, body: dict[str, Any], deadline: float
    ) -> tuple[bytes, str, int, int, int | None]:
        self._check_not_offline()
        if self._limiter and not self._limiter.acquire(deadline):
            raise RateLimitedError(
                msg(
                    "This app already asked for {max_per_window} pictures in the last "
                    "{window_s} seconds, the most the picture service allows. Wait a minute "
                    "and try again.",
                    max_per_window=self._limiter.max_per_window,
                    window_s=f"{self._limiter.window_s:g}",
                ),
                retry_after=self._limiter.wait_time(),
            )
        response = self._send("POST", f"{self._base_url}/{model.id}", deadline, json=body)
        if response.status_code == 202:
            response = self._wait_while_queued(response, deadline)
        self._raise_for_status(response, model)
        return self._read_picture(response)

    def _send(self, method: str, url: str, deadline: float, **kwargs: Any) -> requests.Response:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise self._timed_out()
        with self._pool.session(remaining) as session:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._timed_out()
            try:
                response = session.request(
                    method, url, timeout=(min(CONNECT_TIMEOUT, remaining), remaining), **kwargs
                )
            except requests.RequestException as error:
                if _is_timeout(error):
                    raise self._timed_out() from None
                if _is_unreachable(error):
                    raise self._unreachable(self._describe(error)) from None
                raise ServiceUnavailableError(
                    msg(
                        "We could not reach the picture service ({describe}). Check the internet "
                        "connection and try again in a minute.",
                        describe=self._describe(error),
                    )
                ) from None
        log.debug("%s %s -> %d", method, url, response.status_code)
        return response

    def _unreachable(self, reason: str) -> ServiceUnreachableError:
        self._offline_until = self._clock() + OFFLINE_MEMORY_S
        return ServiceUnreachableError(offline_message(reason))

    def _check_not_offline(self) -> None:
        if self._clock() < self._offline_until:
            raise ServiceUnreachableError(offline_message("it did not answer a moment ago"))

    def _timed_out(self) -> _TimedOut:
        return _TimedOut(
            f"The picture service did not finish this picture within "
            f"{self.settings.image_timeout:g} seconds. Try again in a minute."
        )

    def _wait_while_queued(self, response: requests.Response, deadline: float) -> requests.Response:
        request_id = response.headers.get("NVCF-REQID", "").strip()
        if not request_id:
            raise ServiceUnavailableError(
                msg(
                    "The picture service queued this picture without a ticket to collect it. "
                    "Try again in a minute."
                )
            )
        queued_at = self._clock()
        url = f"{self._status_url}/{request_id}"
        while response.status_code == 202:
            remaining = deadline - self._clock()
            if remaining > 0.05:
                self._sleep(min(self._poll_interval, remaining / 2))
                try:
                    response = self._send("GET", url, deadline)
                    continue
                except _TimedOut:
                    pass
            raise ServiceUnavailableError(
                msg(
                    "The picture service still had this picture queued after {seconds} s. Try "
                    "again in a few minutes.",
                    seconds=f"{self._clock() - queued_at:.0f}",
                )
            )
        if response.status_code == 404:  # the queued request expired or was dropped
            raise ServiceUnavailableError(
                msg("The picture service lost this queued picture. Try drawing it again.")
            )
        return response

    def _raise_for_status(self, response: requests.Response, model: ImageModel) -> None:
        status = response.status_code
        if status == 200:
            return
        if status in (401, 403):
            raise InvalidKeyError(
                msg(
                    "The picture service refused the NVIDIA API key (HTTP {status}). Check "
                    "NVIDIA_API_KEY: it may be mistyped, expired, or not allowed to use "
                    "{label}.",
                    status=status,
                    label=model.label,
                )
            )
        if status == 404:
            raise UnknownModelError(
                msg(
                    "The picture service no longer offers {id} (HTTP 404). Choose another "
                    "picture model in the settings.",
                    id=model.id,
                )
            )
        if status == 422:
            reason = self._problem_detail(response)
            raise InvalidRequestError(
                msg(
                    "The picture service refused these picture settings ({reason}). Change "
                    "the picture settings and try again.",
                    reason=reason,
                )
            )
        if status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            wait = "a minute" if retry_after is None else _seconds(math.ceil(retry_after))
            raise RateLimitedError(
                msg(
                    "The picture service says we are asking for pictures too fast (HTTP "
                    "429). Wait {wait} and try again.",
                    wait=wait,
                ),
                retry_after=retry_after,
            )
        if status >= 500 or status < 400:
            raise ServiceUnavailableError(
                msg(
                    "The picture service is having trouble (HTTP {status}). Try again in a minute.",
                    status=status,
                )
            )
        raise InvalidRequestError(
            msg(
                "The picture service refused the request (HTTP {status}: "
                "{problem_detail}). Change the picture settings and try again.",
                status=status,
                problem_detail=self._problem_detail(response),
            )
        )

    def _read_picture(self, response: requests.Response) -> tuple[bytes, str, int, int, int | None]:
        try:
            payload = response.json()
        except ValueError:
            raise _UnreadableAnswer(
                "The picture service sent an answer we could not read (cut short or not JSON). "
                "Try drawing this picture again."
            ) from None
        encoded, reason, seed = _unpack_picture(payload)
        if reason == FILTERED:
            raise _filtered(
                "The picture service's safety filter blocked the picture for this sentence."
            )
        if reason not in (None, "SUCCESS"):
            raise ServiceUnavailableError(
                msg(
                    "The picture service could not draw this picture ({reason}). Try again.",
                    reason=reason,
                )
            )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadImageError(
                msg("The picture service sent a picture we could not decode. Try drawing it again.")
            ) from None
        try:
            image_format, width, height = verify_image(data, reject_blank=True)
        except BlankImageError:
            raise _filtered(
                "The picture service sent a black picture, which is what its safety filter does."
            ) from None
        seed_used = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
        return data, image_format, width, height, seed_used

    def _problem_detail(self, response: requests.Response) -> str:
        """The reason in an error answer: a 422's ``detail`` list, a problem object's ``detail``
        or ``title``, or the text, as one short line."""
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title") or ""
        except (ValueError, AttributeError):
            detail = response.text
        text = readable_detail(detail)
        return self._redact(" ".join(text.split())[:300]) or "no reason given"

    def _describe(self, error: requests.RequestException) -> str:
        """A short reason from a requests exception, e.g. 'Connection refused'."""
        reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))
        if reason:
            return self._redact(reason[1].strip())
        if isinstance(error, requests.ConnectionError):
            return "the connection was closed without an answer"
        return type(error).__name__

    def _redact(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "***")
        return _KEY_PATTERN.sub("nvapi-***", text)


def _filtered(reason: str) -> ContentFilteredError:
    return ContentFilteredError(
        msg("{reason} Reword the sentence or leave this frame without a picture.", reason=reason)
    )


def _unpack_picture(payload: Any) -> tuple[str, str | None, Any]:
    """(base64, finish reason, seed) from either response shape of the contract."""
    if isinstance(payload, dict):
        artifacts = payload.get("artifacts")
        if isinstance(artifacts, list) and artifacts and isinstance(artifacts[0], dict):
            first = artifacts[0]
            return first.get("base64") or "", first.get("finishReason"), first.get("seed")
        if "image" in payload:
            return payload.get("image") or "", payload.get("finish_reason"), payload.get("seed")
    raise _UnreadableAnswer(
        "The picture service answered without a picture. Try drawing this picture again."
    )


def _retry_after_seconds(header: str | None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _seconds(count: int) -> str:
    return "1 second" if count == 1 else f"{count} seconds"


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "picture attempt %d failed (%s); retrying in %.2f s",
        state.attempt_number,
        error,
        state.upcoming_sleep,
    )


def offline_message(reason: str) -> str:
    return (
        f"We could not reach NVIDIA's picture service ({reason}). This computer may be offline, "
        "or a firewall may block the service. Check the internet connection, then choose "
        "'Generate missing pictures'; everything else is saved."
    )


def _catalogue(first: str) -> dict[str, ImageModel]:
    """The models, the configured default first."""
    if first not in NVIDIA_MODELS:
        return dict(NVIDIA_MODELS)
    return {first: NVIDIA_MODELS[first]} | NVIDIA_MODELS


__all__ = [
    "DEFAULT_MODEL",
    "NVIDIA_MODELS",
    "RETIRED_MODELS",
    "NvidiaBackend",
    "build_request_body",
    "readable_detail",
    "request_schema",
    "schema_problems",
]
