"""Client for NVIDIA's hosted image models, faithful to shared/docs/nvidia-genai-api.md.

One ``NvidiaImageClient`` per process: it owns the request-rate limiter and the connection slots,
so every picture the app asks for shares the same budget.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NoReturn, TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter
from urllib3.exceptions import ReadTimeoutError

from .errors import (
    BadImageError,
    ContentFilteredError,
    ImageAPIError,
    InvalidKeyError,
    InvalidRequestError,
    MissingKeyError,
    RateLimitedError,
    ServiceUnavailableError,
    UnknownModelError,
)
from .images import BlankImageError, verify_image
from .settings import Settings

log = logging.getLogger("s2i_core.nvidia")

Family = Literal["sdxl", "sd3", "flux"]
K = TypeVar("K")

DEFAULT_MODEL = "stabilityai/stable-diffusion-xl"
MAX_SEED = 4_294_967_295
CONNECT_TIMEOUT = 10.0
SDXL_SAMPLERS = ("K_DPM_2_ANCESTRAL", "K_EULER_ANCESTRAL", "DDIM", "K_EULER", "K_DPMPP_2M")
SD3_ASPECT_RATIOS = ("1:1", "16:9", "9:16", "21:9", "9:21", "3:2", "2:3", "5:4", "4:5")
FILTERED = "CONTENT_FILTERED"


# --- models ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageModel:
    """What one hosted model accepts. ``default_cfg`` None: the model takes no ``cfg_scale``."""

    id: str
    family: Family
    label: str
    default_steps: int
    max_steps: int
    default_cfg: float | None
    width: int
    height: int
    min_steps: int = 1
    cfg_range: tuple[float, float] = (0.0, 0.0)
    side_range: tuple[int, int] = (1024, 1024)  # allowed width/height, multiples of 64
    samplers: tuple[str, ...] = ()  # SDXL family only; the first is the default
    aspect_ratios: tuple[str, ...] = ()  # SD3 only; chosen instead of width/height
    supports_negative: bool = False
    mode: str | None = None  # the body's "mode" field, for models that want one

    @property
    def default_sampler(self) -> str | None:
        return self.samplers[0] if self.samplers else None


IMAGE_MODELS: dict[str, ImageModel] = {
    model.id: model
    for model in (
        ImageModel(
            id="stabilityai/stable-diffusion-xl",
            family="sdxl",
            label="Stable Diffusion XL",
            default_steps=25,
            max_steps=50,
            default_cfg=5.0,
            cfg_range=(0.0, 35.0),
            width=1024,
            height=1024,
            side_range=(512, 1536),
            samplers=SDXL_SAMPLERS,
            supports_negative=True,
        ),
        ImageModel(
            id="stabilityai/sdxl-turbo",
            family="sdxl",
            label="SDXL Turbo (fast)",
            default_steps=2,
            max_steps=4,
            default_cfg=0.0,
            width=512,
            height=512,
            side_range=(512, 512),
            samplers=("K_EULER_ANCESTRAL", *[s for s in SDXL_SAMPLERS if s != "K_EULER_ANCESTRAL"]),
        ),
        ImageModel(
            id="stabilityai/stable-diffusion-3-medium",
            family="sd3",
            label="Stable Diffusion 3 Medium",
            default_steps=50,
            max_steps=100,
            default_cfg=5.0,
            cfg_range=(0.0, 10.0),
            width=1024,
            height=1024,
            aspect_ratios=SD3_ASPECT_RATIOS,
            supports_negative=True,
            mode="text-to-image",
        ),
        ImageModel(
            id="black-forest-labs/flux.1-schnell",
            family="flux",
            label="FLUX.1 schnell (fast)",
            default_steps=4,
            max_steps=4,
            default_cfg=None,
            width=1024,
            height=1024,
            side_range=(768, 1344),
        ),
        ImageModel(
            id="black-forest-labs/flux.1-dev",
            family="flux",
            label="FLUX.1 dev",
            default_steps=50,
            max_steps=50,
            default_cfg=3.5,
            cfg_range=(1.0, 9.0),
            width=1024,
            height=1024,
            side_range=(768, 1344),
            mode="base",
        ),
    )
}


def get_image_model(model_id: str) -> ImageModel:
    try:
        return IMAGE_MODELS[model_id.strip()]
    except KeyError:
        choices = ", ".join(IMAGE_MODELS)
        raise UnknownModelError(
            f"'{model_id}' is not a model we know how to ask for pictures. "
            f"Choose one of: {choices}."
        ) from None


# --- request parameters ------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageParams:
    """What to ask for. None means "the model's default"; ``seed`` 0 lets the service choose.

    Settings a model does not take are ignored (a sampler for FLUX, a negative prompt for
    FLUX or SDXL Turbo). SD3 takes an aspect ratio; the others take width and height, and an
    aspect ratio given to them picks a size of about the model's default area.
    """

    model: str = DEFAULT_MODEL
    steps: int | None = None
    cfg_scale: float | None = None
    sampler: str | None = None
    seed: int = 0
    width: int | None = None
    height: int | None = None
    aspect_ratio: str | None = None
    negative_prompt: str = ""

    def resolved(self, model: ImageModel | None = None) -> ImageParams:
        """Defaults filled in for ``model``, values checked; raises InvalidRequestError."""
        model = model or get_image_model(self.model)
        steps = _check_int(
            "Steps",
            _default(self.steps, model.default_steps),
            model.min_steps,
            model.max_steps,
            model,
        )
        seed = _check_int("The seed", self.seed, 0, MAX_SEED, model)
        cfg_scale = None
        if model.default_cfg is not None:
            cfg_scale = _check_cfg(_default(self.cfg_scale, model.default_cfg), model)
        sampler = None
        if model.samplers:
            sampler = self.sampler or model.default_sampler
            if sampler not in model.samplers:
                _invalid(
                    f"The sampler '{sampler}' is not one {model.label} offers "
                    f"(choose one of {', '.join(model.samplers)})"
                )
        width = height = aspect_ratio = None
        if model.aspect_ratios:
            aspect_ratio = self.aspect_ratio or _nearest_ratio(self.width, self.height, model)
            if aspect_ratio not in model.aspect_ratios:
                _invalid(
                    f"The shape '{aspect_ratio}' is not one {model.label} offers "
                    f"(choose one of {', '.join(model.aspect_ratios)})"
                )
        else:
            width, height = self._size(model)
        negative = self.negative_prompt.strip() if model.supports_negative else ""
        return replace(
            self,
            model=model.id,
            steps=steps,
            cfg_scale=cfg_scale,
            sampler=sampler,
            seed=seed,
            width=width,
            height=height,
            aspect_ratio=aspect_ratio,
            negative_prompt=negative,
        )

    def _size(self, model: ImageModel) -> tuple[int, int]:
        if self.width is None and self.height is None and self.aspect_ratio:
            ratio = _parse_ratio(self.aspect_ratio, model)
            area = model.width * model.height
            sides = math.sqrt(area * ratio), math.sqrt(area / ratio)
            low, high = model.side_range
            width, height = (min(high, max(low, round(side / 64) * 64)) for side in sides)
            return width, height
        width = _default(self.width, model.width)
        height = _default(self.height, model.height)
        for name, side in (("width", width), ("height", height)):
            low, high = model.side_range
            if not _is_int(side) or not low <= side <= high or side % 64:
                allowed = f"{low}" if low == high else f"a multiple of 64 from {low} to {high}"
                _invalid(
                    f"The picture {name} must be {allowed} pixels for {model.label} (got {side})"
                )
        return width, height


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(problem: str) -> NoReturn:
    raise InvalidRequestError(f"{problem}. Change the picture settings and try again.")


def _check_int(name: str, value: Any, low: int, high: int, model: ImageModel) -> int:
    if not _is_int(value) or not low <= value <= high:
        _invalid(
            f"{name} must be a whole number from {low} to {high} for {model.label} (got {value!r})"
        )
    return value


def _check_cfg(value: Any, model: ImageModel) -> float:
    low, high = model.cfg_range
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        allowed = f"{low:g}" if low == high else f"from {low:g} to {high:g}"
        _invalid(
            f"The guidance scale (cfg_scale) must be {allowed} for {model.label} (got {value!r})"
        )
    return float(value)


def _parse_ratio(text: str, model: ImageModel) -> float:
    match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", text)
    if not match or not int(match[1]) or not int(match[2]):
        _invalid(f"The shape '{text}' is not an aspect ratio like 16:9 or 1:1 for {model.label}")
    return int(match[1]) / int(match[2])


def _nearest_ratio(width: int | None, height: int | None, model: ImageModel) -> str:
    if not width or not height:
        return "1:1"
    wanted = math.log(width / height)
    return min(model.aspect_ratios, key=lambda r: abs(math.log(_parse_ratio(r, model)) - wanted))


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def build_request_body(model: ImageModel, prompt: str, params: ImageParams) -> dict[str, Any]:
    """The JSON body for ``POST {base}/{model.id}``, in the shape the model's family expects."""
    prompt = prompt.strip()
    if not prompt:
        _invalid("There is no sentence to draw")
    p = params.resolved(model)
    if model.family == "sdxl":
        text_prompts = [{"text": prompt, "weight": 1}]
        if p.negative_prompt:
            text_prompts.append({"text": p.negative_prompt, "weight": -1})
        return {
            "text_prompts": text_prompts,
            "cfg_scale": _number(p.cfg_scale),
            "sampler": p.sampler,
            "seed": p.seed,
            "steps": p.steps,
            "height": p.height,
            "width": p.width,
        }
    if model.family == "sd3":
        body: dict[str, Any] = {"prompt": prompt}
        if p.negative_prompt:
            body["negative_prompt"] = p.negative_prompt
        return body | {
            "cfg_scale": _number(p.cfg_scale),
            "aspect_ratio": p.aspect_ratio,
            "seed": p.seed,
            "steps": p.steps,
            "mode": model.mode,
        }
    body = {
        "prompt": prompt,
        "width": p.width,
        "height": p.height,
        "seed": p.seed,
        "steps": p.steps,
    }
    if model.mode:
        body["mode"] = model.mode
    if p.cfg_scale is not None:
        body["cfg_scale"] = _number(p.cfg_scale)
    return body


# --- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GeneratedImage:
    data: bytes = field(repr=False)
    format: str  # "PNG" or "JPEG", as decoded
    width: int
    height: int
    seed: int  # the seed the service used (repeat it to get the same picture)
    attempts: int  # generation requests sent, retries included
    elapsed: float  # seconds, queueing and retries included


# --- request-rate limiter ----------------------------------------------------------------------
class RateLimiter:
    """At most ``max_per_window`` acquisitions in any rolling window of ``window_s`` seconds."""

    def __init__(self, max_per_window: int, window_s: float = 60.0):
        if max_per_window < 1 or window_s <= 0:
            raise ValueError("A rate limit needs at least one request per a positive window.")
        self.max_per_window = max_per_window
        self.window_s = window_s
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, deadline: float | None = None) -> bool:
        """Block until a slot is free and take it. False, without waiting, if no slot frees
        before ``deadline`` (a ``time.monotonic()`` value)."""
        while True:
            with self._lock:
                now = time.monotonic()
                self._forget_old(now)
                if len(self._stamps) < self.max_per_window:
                    self._stamps.append(now)
                    return True
                free_at = self._stamps[0] + self.window_s
            if deadline is not None and free_at > deadline:
                return False
            time.sleep(free_at - now)

    def wait_time(self) -> float:
        """Seconds until a slot frees (0 when one is free now)."""
        with self._lock:
            now = time.monotonic()
            self._forget_old(now)
            if len(self._stamps) < self.max_per_window:
                return 0.0
            return self._stamps[0] + self.window_s - now

    def _forget_old(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.window_s:
            self._stamps.popleft()


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
                "Every connection to the picture service stayed busy until this picture's time "
                "ran out. Try again in a minute."
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


class _TimedOut(ServiceUnavailableError):
    """This picture's time budget ran out during a request."""


def _is_timeout(error: requests.RequestException) -> bool:
    # requests reports a read timeout in the middle of a body as a ConnectionError
    cause = error.args[0] if error.args else None
    return isinstance(error, requests.Timeout) or isinstance(cause, ReadTimeoutError)


_RETRYABLE = (RateLimitedError, ServiceUnavailableError, _UnreadableAnswer)
_KEY_PATTERN = re.compile(r"nvapi-[^\s'\"&,;]+")


# --- the client --------------------------------------------------------------------------------
class NvidiaImageClient:
    """Draws one picture per prompt with NVIDIA's hosted models; see ``generate``.

    ``rate_limiter`` defaults to ``settings.image_rpm`` per 60 s (none when 0). ``poll_interval``
    is the pause between status polls of a queued picture; ``backoff_initial``/``backoff_max``
    shape the exponential, jittered pause between retries.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        rate_limiter: RateLimiter | None = None,
        poll_interval: float = 1.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 16.0,
    ):
        self.settings = settings
        self._key = settings.nvidia_api_key.strip()
        self._base_url = settings.nvidia_base_url.rstrip("/")
        self._status_url = settings.nvcf_status_url.rstrip("/")
        self._limiter = rate_limiter or (
            RateLimiter(settings.image_rpm, 60.0) if settings.image_rpm > 0 else None
        )
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
            f"NvidiaImageClient(base_url={self._base_url!r}, key={key_state}, "
            f"concurrency={self.settings.image_concurrency}, rpm={self.settings.image_rpm})"
        )

    def __enter__(self) -> NvidiaImageClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.close()

    # --- one picture ---------------------------------------------------------------------------
    def generate(self, prompt: str, params: ImageParams) -> GeneratedImage:
        """Draw one picture. Retries 429, 5xx, timeouts and broken answers within
        ``settings.image_timeout`` seconds; raises an ImageAPIError subclass otherwise."""
        if not self._key:
            raise MissingKeyError(
                "No NVIDIA API key is set, so no pictures can be drawn. Add NVIDIA_API_KEY to the "
                "environment or to .streamlit/secrets.toml, then try again."
            )
        model = get_image_model(params.model)
        body = build_request_body(model, prompt, params)
        started = time.monotonic()
        deadline = started + self.settings.image_timeout
        retrying = Retrying(
            retry=retry_if_exception_type(_RETRYABLE),
            wait=self._wait_before_retry,
            stop=lambda state: time.monotonic() + state.upcoming_sleep >= deadline,
            before_sleep=_log_retry,
            reraise=True,
        )
        attempts = 0

        def attempt() -> tuple[bytes, str, int, int, int | None]:
            nonlocal attempts
            attempts += 1
            return self._attempt(model, body, deadline)

        data, image_format, width, height, seed = retrying(attempt)
        elapsed = time.monotonic() - started
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
        if self._limiter and not self._limiter.acquire(deadline):
            raise RateLimitedError(
                f"This app already asked for {self._limiter.max_per_window} pictures in the last "
                f"{self._limiter.window_s:g} seconds, the most the picture service allows. "
                "Wait a minute and try again.",
                retry_after=self._limiter.wait_time(),
            )
        response = self._send("POST", f"{self._base_url}/{model.id}", deadline, json=body)
        if response.status_code == 202:
            response = self._wait_while_queued(response, deadline)
        self._raise_for_status(response, model)
        return self._read_picture(response)

    def _send(self, method: str, url: str, deadline: float, **kwargs: Any) -> requests.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out()
        with self._pool.session(remaining) as session:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out()
            try:
                response = session.request(
                    method, url, timeout=(min(CONNECT_TIMEOUT, remaining), remaining), **kwargs
                )
            except requests.RequestException as error:
                if _is_timeout(error):
                    raise self._timed_out() from None
                raise ServiceUnavailableError(
                    f"We could not reach the picture service ({self._describe(error)}). "
                    "Check the internet connection and try again in a minute."
                ) from None
        log.debug("%s %s -> %d", method, url, response.status_code)
        return response

    def _timed_out(self) -> _TimedOut:
        return _TimedOut(
            f"The picture service did not finish this picture within "
            f"{self.settings.image_timeout:g} seconds. Try again in a minute."
        )

    def _wait_while_queued(self, response: requests.Response, deadline: float) -> requests.Response:
        request_id = response.headers.get("NVCF-REQID", "").strip()
        if not request_id:
            raise ServiceUnavailableError(
                "The picture service queued this picture without a ticket to collect it. "
                "Try again in a minute."
            )
        queued_at = time.monotonic()
        url = f"{self._status_url}/{request_id}"
        while response.status_code == 202:
            remaining = deadline - time.monotonic()
            if remaining > 0.05:
                time.sleep(min(self._poll_interval, remaining / 2))
                try:
                    response = self._send("GET", url, deadline)
                    continue
                except _TimedOut:
                    pass
            raise ServiceUnavailableError(
                f"The picture service still had this picture queued after "
                f"{time.monotonic() - queued_at:.0f} s. Try again in a few minutes."
            )
        if response.status_code == 404:  # the queued request expired or was dropped
            raise ServiceUnavailableError(
                "The picture service lost this queued picture. Try drawing it again."
            )
        return response

    def _raise_for_status(self, response: requests.Response, model: ImageModel) -> None:
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
            raise InvalidRequestError(
                f"The picture service refused these picture settings: "
                f"{self._problem_detail(response)}. Change the picture settings and try again."
            )
        if status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
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
        return data, image_format, width, height, seed if _is_int(seed) else None

    def _problem_detail(self, response: requests.Response) -> str:
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title") or ""
        except (ValueError, AttributeError):
            detail = response.text
        return self._redact(" ".join(str(detail).split())[:300]) or "no reason given"

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

    # --- many pictures -------------------------------------------------------------------------
    def generate_many(
        self, jobs: Iterable[tuple[K, str, ImageParams]]
    ) -> Iterator[tuple[K, GeneratedImage | ImageAPIError]]:
        """Draw many pictures, up to ``settings.image_concurrency`` at once. Yields
        ``(key, picture or error)`` as each finishes; errors are yielded, not raised."""
        executor = ThreadPoolExecutor(
            max_workers=max(1, self.settings.image_concurrency), thread_name_prefix="nvidia-image"
        )
        try:
            futures = {
                executor.submit(self.generate, prompt, params): key for key, prompt, params in jobs
            }
            for future in as_completed(futures):
                yield futures[future], _outcome(future.result)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)


def _outcome(result: Callable[[], GeneratedImage]) -> GeneratedImage | ImageAPIError:
    try:
        return result()
    except ImageAPIError as error:
        return error
    except Exception:  # one broken frame must not stop the others; the log keeps the bug
        log.exception("unexpected failure while drawing a picture")
        return ImageAPIError(
            "Something unexpected went wrong while drawing this picture. Try drawing it again."
        )


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


__all__ = [
    "DEFAULT_MODEL",
    "IMAGE_MODELS",
    "GeneratedImage",
    "ImageModel",
    "ImageParams",
    "NvidiaImageClient",
    "RateLimiter",
    "build_request_body",
    "get_image_model",
]
