"""The client of NVIDIA's hosted image API: one picture per request, with retries (429, 5xx,
timeouts, broken answers) within the picture's time budget, a queued picture collected
(poller.py), and every failure turned into an error a teacher can act on.

One ``NvidiaBackend`` per process: it owns the request-rate limiter and the transport's
connection slots, so every picture the app asks for shares the same budget.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential_jitter

from ...errors import (
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
from ...settings import Settings
from ..images import BlankImageError, verify_image
from ..limiter import RequestLimiter, limiter_for
from ..models import GeneratedImage, ImageModel, ImageParams, get_model
from .catalogue import _validator, build_request_body, offered, readable_detail
from .poller import Poller, TimedOut
from .transport import (
    Request,
    RequestsTransport,
    Response,
    Transport,
    TransportError,
    TransportTimeout,
    Unreachable,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
FILTERED = "CONTENT_FILTERED"
# How long after finding the service unreachable further pictures fail at once instead of each
# waiting for its own connection attempt.
OFFLINE_MEMORY_S = 5.0


class _UnreadableAnswer(BadImageError):
    """A 200 whose body is not the JSON we expect (cut short, or not JSON); worth retrying."""

    retryable = True


def _should_retry(error: BaseException) -> bool:
    return isinstance(error, ImageAPIError) and error.retryable


_KEY_PATTERN = re.compile(r"nvapi-[^\s'\"&,;]+")


# --- the backend -------------------------------------------------------------------------------
class NvidiaBackend:
    """Draws one picture per prompt with NVIDIA's hosted models; see ``generate``.

    ``rate_limiter`` defaults to ``limiter_for(settings)`` (``S2I_IMAGE_RPM`` per minute; none
    when 0); any ``RequestLimiter`` can be passed instead. ``transport`` carries the requests
    (``RequestsTransport``; unit tests pass a ``MockTransport``). ``poll_interval`` is the pause
    between status polls of a queued picture; ``backoff_initial``/``backoff_max`` shape the
    exponential, jittered pause between retries.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        rate_limiter: RequestLimiter | None = None,
        transport: Transport | None = None,
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
        self.models = offered(settings.image_model)
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
        self._poller = Poller(self._status_url, self._get, clock, sleep, poll_interval)
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
        self._headers = {
            "Authorization": f"Bearer {self._key}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "story-to-images/1.0",
        }
        self._transport = transport or RequestsTransport(self.concurrency)

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
        self._transport.close()

    # --- one picture ---------------------------------------------------------------------------
    def generate(self, prompt: str, params: ImageParams) -> GeneratedImage:
        """Draw one picture. Retries 429, 5xx, timeouts and broken answers within
        ``settings.image_timeout`` seconds; fails at once when the service cannot be reached at
        all; raises an ImageAPIError subclass otherwise."""
        if not self._key:
            raise MissingKeyError(
                "No NVIDIA API key is set, so no pictures can be drawn. Add NVIDIA_API_KEY to the "
                "environment or to .streamlit/secrets.toml, then try again."
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
                f"This app already asked for {self._limiter.max_per_window} pictures in the last "
                f"{self._limiter.window_s:g} seconds, the most the picture service allows. "
                "Wait a minute and try again.",
                retry_after=self._limiter.wait_time(),
            )
        response = self._send("POST", f"{self._base_url}/{model.id}", deadline, body)
        if response.status_code == 202:
            response = self._poller.collect(response, deadline)
        self._raise_for_status(response, model)
        return self._read_picture(response)

    def _send(self, method: str, url: str, deadline: float, body: Any = None) -> Response:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise self._timed_out()
        request = Request(method, url, self._headers, body, remaining, CONNECT_TIMEOUT)
        try:
            response = self._transport.send(request)
        except TransportTimeout:
            raise self._timed_out() from None
        except Unreachable as error:
            raise self._unreachable(self._redact(error.reason)) from None
        except TransportError as error:
            raise ServiceUnavailableError(
                f"We could not reach the picture service ({self._redact(error.reason)}). "
                "Check the internet connection and try again in a minute."
            ) from None
        log.debug("%s %s -> %d", method, url, response.status_code)
        return response

    def _get(self, url: str, deadline: float) -> Response:
        return self._send("GET", url, deadline)

    def _unreachable(self, reason: str) -> ServiceUnreachableError:
        self._offline_until = self._clock() + OFFLINE_MEMORY_S
        return ServiceUnreachableError(offline_message(reason))

    def _check_not_offline(self) -> None:
        if self._clock() < self._offline_until:
            raise ServiceUnreachableError(offline_message("it did not answer a moment ago"))

    def _timed_out(self) -> TimedOut:
        return TimedOut(
            f"The picture service did not finish this picture within "
            f"{self.settings.image_timeout:g} seconds. Try again in a minute."
        )

    def _raise_for_status(self, response: Response, model: ImageModel) -> None:
        status = response.status_code
        if status == 200:
            return
        if status in (401, 403):
            raise InvalidKeyError(
                f"The picture service refused the NVIDIA API key (HTTP {status}). Check "
                f"NVIDIA_API_KEY: it may be mistyped, expired, or not allowed to use {model.label}."
            )
        if status == 404:
            raise UnknownModelError(
                f"The picture service no longer offers {model.id} (HTTP 404). "
                "Choose another picture model in the settings."
            )
        if status == 422:
            reason = self._problem_detail(response)
            raise InvalidRequestError(
                f"The picture service refused these picture settings ({reason}). "
                "Change the picture settings and try again."
            )
        if status == 429:
            retry_after = _retry_after_seconds(response.header("Retry-After") or None)
            wait = "a minute" if retry_after is None else _seconds(math.ceil(retry_after))
            raise RateLimitedError(
                f"The picture service says we are asking for pictures too fast (HTTP 429). "
                f"Wait {wait} and try again.",
                retry_after=retry_after,
            )
        if status >= 500 or status < 400:
            raise ServiceUnavailableError(
                f"The picture service is having trouble (HTTP {status}). Try again in a minute."
            )
        raise InvalidRequestError(
            f"The picture service refused the request (HTTP {status}: "
            f"{self._problem_detail(response)}). Change the picture settings and try again."
        )

    def _read_picture(self, response: Response) -> tuple[bytes, str, int, int, int | None]:
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
                f"The picture service could not draw this picture ({reason}). Try again."
            )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadImageError(
                "The picture service sent a picture we could not decode. Try drawing it again."
            ) from None
        try:
            image_format, width, height = verify_image(data, reject_blank=True)
        except BlankImageError:
            raise _filtered(
                "The picture service sent a black picture, which is what its safety filter does."
            ) from None
        seed_used = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
        return data, image_format, width, height, seed_used

    def _problem_detail(self, response: Response) -> str:
        """The reason in an error answer: a 422's ``detail`` list, a problem object's ``detail``
        or ``title``, or the text, as one short line."""
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title") or ""
        except (ValueError, AttributeError):
            detail = response.text
        text = readable_detail(detail)
        return self._redact(" ".join(text.split())[:300]) or "no reason given"

    def _redact(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "***")
        return _KEY_PATTERN.sub("nvapi-***", text)


def _filtered(reason: str) -> ContentFilteredError:
    return ContentFilteredError(
        f"{reason} Reword the sentence or leave this frame without a picture."
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
