"""A local stand-in for NVIDIA's hosted image API (shared/docs/nvidia-genai-api.md), on loopback.

In tests::

    with NvidiaStub(latency=0.1) as stub:
        settings = Settings(nvidia_api_key=stub.key, nvidia_base_url=stub.base_url,
                            nvcf_status_url=stub.status_url)
        stub.fail_next("429", "503")          # the next two generation requests fail, then normal
        stub.behaviour.queue_polls = 2        # answer 202 and want two status polls
        ... stub.generation_requests(), stub.peak_in_flight, stub.max_in_window(60)

As a command (browser tests, benchmarks, trying the app without a key)::

    python -m tests.nvidia_stub --port 8765 --latency 2

While it runs, ``POST /_stub/behaviour`` with a JSON object changes the behaviour (same field
names as ``StubBehaviour``, plus "fail_next": [...]) and ``GET /_stub/stats`` reports counts.

Faults, for ``fail_next(...)`` or ``behaviour.always``: "429", "401", "403", "422", "500", "502",
"503", "truncated" (JSON cut short), "not_image" (base64 of text), "oversized" (a 4100 px wide
PNG), "black" (SUCCESS with an all-black picture), "never_ready" (202, then 202 forever),
"slow" (answers after ``slow_seconds``), "hangup" (closes the connection without an answer).
A prompt containing ``filter_word`` comes back CONTENT_FILTERED.

Bodies are checked against the published request schemas (s2i_core/pictures/schemas, all with
``additionalProperties: false``) with ``jsonschema``; a body that breaks one gets the service's
422, ``{"detail": [{"loc", "msg", "type"}, ...]}``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
from PIL import Image, ImageDraw, ImageFont

from s2i_core.pictures.nvidia import SCHEMAS_DIR

FAKE_KEY = "nvapi-test.fake-key"  # obviously not a real key
GENAI_PREFIX = "/v1/genai/"
STATUS_PREFIX = "/v2/nvcf/pexec/status/"
MAX_STUB_SIDE = 512
HOLD_TIMEOUT_S = 60.0  # a deadlock guard for hold_until_in_flight, never a measurement
FAULTS = {
    "429",
    "401",
    "403",
    "422",
    "500",
    "502",
    "503",
    "truncated",
    "not_image",
    "oversized",
    "black",
    "never_ready",
    "slow",
    "hangup",
}

# The hosted models: which answer shape each gives. What each accepts is its published schema.
MODELS: dict[str, str] = {
    "stabilityai/stable-diffusion-xl": "sdxl",
    "stabilityai/stable-diffusion-3-medium": "sd3",
    "black-forest-labs/flux.1-schnell": "flux",
    "black-forest-labs/flux.1-dev": "flux",
    "black-forest-labs/flux.2-klein-4b": "flux",
    "black-forest-labs/flux.1-kontext-dev": "kontext",
}
SD3_RATIOS = {
    "1:1": (1, 1),
    "16:9": (16, 9),
    "9:16": (9, 16),
    "3:2": (3, 2),
    "2:3": (2, 3),
    "5:4": (5, 4),
    "4:5": (4, 5),
}


@dataclass
class StubBehaviour:
    latency: float = 0.0  # seconds before each generation answer
    # > 0: generation requests are held in groups of this many, released only when the whole group
    # waits together (a barrier), so a test sees concurrency in the server's count, not in timings;
    # a client that sends one at a time never fills a group (HOLD_TIMEOUT_S guards hangs)
    hold_until_in_flight: int = 0
    # not None: generation requests after the first ``hold_after`` are held, neither answered nor
    # recorded: a test acts while a picture is surely still being drawn (``wait_until_held``),
    # then ``release_held()`` answers them as usual, or ``stop_holding()`` lets only later
    # requests through (those held are hung up when the stub stops: their client was killed)
    hold_after: int | None = None
    queue_polls: int = 0  # > 0: answer 202, and the picture is ready at this status poll
    retry_after: float | None = 1.0  # Retry-After on 429 answers; None: no header
    slow_seconds: float = 30.0
    filter_word: str = "FILTERME"
    always: str | None = None  # a fault for every generation request
    retired_models: set[str] = field(default_factory=set)  # known to the contract, 404 here
    fail_next: deque[str] = field(default_factory=deque)  # one fault per request, then normal
    # True: like NVIDIA's hosted preview, an input ``image`` must be one of its examples
    # (data:image/png;example_id,N); False: like a NIM container, it takes the picture itself
    examples_only: bool = False
    filter_references: bool = False  # True: every picture drawn from an input image is filtered


@dataclass(frozen=True)
class RequestRecord:
    time: float  # the stub's clock (time.monotonic unless a test sets one) at arrival
    method: str
    path: str
    model: str | None
    body: Any
    authorized: bool
    status: int  # 0 when the connection was closed without an answer
    client_port: int  # the same port for requests that reuse one connection


@dataclass
class _QueuedJob:
    payload: dict[str, Any]
    polls_left: int | None  # None: never ready


class NvidiaStub:
    def __init__(
        self, key: str = FAKE_KEY, host: str = "127.0.0.1", port: int = 0, **behaviour: Any
    ):
        self.key = key
        self.behaviour = StubBehaviour(**behaviour)
        self.records: list[RequestRecord] = []
        self.peak_in_flight = 0
        self.clock = time.monotonic  # stamps arrivals; a test may share its fake clock
        self._in_flight = 0
        self._jobs: dict[str, _QueuedJob] = {}
        self._job_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._company = threading.Condition(self._lock)
        self._generations = 0  # generation requests that reached the hold check
        self._held = 0  # generation requests held by hold_after so far
        self._released = threading.Event()  # release_held(): held requests are answered
        self._waiting = 0  # generation requests waiting for their group to fill
        self._gatherings = 0  # how many groups of hold_until_in_flight requests have been released
        self._stopping = threading.Event()
        self.server = ThreadingHTTPServer((host, port), _Handler)
        self.server.stub = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def root_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.root_url + GENAI_PREFIX.rstrip("/")

    @property
    def status_url(self) -> str:
        return self.root_url + STATUS_PREFIX.rstrip("/")

    def start(self) -> NvidiaStub:
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="nvidia-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping for latency or "slow"
        with self._lock:
            self._company.notify_all()  # and those waiting for hold_until_in_flight or hold_after
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> NvidiaStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- scripting and assertions --------------------------------------------------------------
    def fail_next(self, *faults: str) -> None:
        unknown = set(faults) - FAULTS
        if unknown:
            raise ValueError(f"unknown stub fault(s) {sorted(unknown)}; known: {sorted(FAULTS)}")
        with self._lock:
            self.behaviour.fail_next.extend(faults)

    def generation_requests(self) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.records if r.method == "POST"]

    def poll_requests(self) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.records if r.method == "GET"]

    def max_in_window(self, window_s: float = 60.0) -> int:
        """The most generation requests that arrived within any ``window_s`` seconds."""
        times = sorted(r.time for r in self.generation_requests())
        return max(
            (sum(1 for t in times[i:] if t - start < window_s) for i, start in enumerate(times)),
            default=0,
        )

    def per_minute_counts(self) -> list[int]:
        times = [r.time for r in self.generation_requests()]
        if not times:
            return []
        counts = [0] * (int((max(times) - min(times)) // 60) + 1)
        for t in times:
            counts[int((t - min(times)) // 60)] += 1
        return counts

    def stats(self) -> dict[str, Any]:
        return {
            "generation_requests": len(self.generation_requests()),
            "poll_requests": len(self.poll_requests()),
            "peak_in_flight": self.peak_in_flight,
            "max_per_minute": self.max_in_window(60.0),
        }

    def reset(self) -> None:
        with self._lock:
            self.records.clear()
            self.peak_in_flight = 0
            self.behaviour.fail_next.clear()

    # --- used by the handler -------------------------------------------------------------------
    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.records.append(record)

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def stop_holding(self) -> None:
        """Requests from now on are answered (those held so far stay held until the stub stops)."""
        with self._lock:
            self.behaviour.hold_after = None

    def release_held(self) -> None:
        """Answer the held requests as usual, and hold no more."""
        with self._lock:
            self.behaviour.hold_after = None
            self._released.set()
            self._company.notify_all()

    def wait_until_held(self, count: int = 1, timeout: float = HOLD_TIMEOUT_S) -> None:
        """Return once ``count`` generation requests are held (``hold_after``): the client is
        surely drawing those pictures now. ``timeout`` only guards against a hang."""
        with self._lock:
            if not self._company.wait_for(lambda: self._held >= count, timeout):
                raise AssertionError(f"{count} request(s) were not held within {timeout:.0f} s")

    def _hold(self) -> bool:
        """Hold this generation request if ``hold_after`` says so, until ``release_held()``
        (False: answer it) or the stub stops (True: hang up)."""
        with self._lock:
            self._generations += 1
            if self.behaviour.hold_after is None or self._generations <= self.behaviour.hold_after:
                return False
            self._held += 1
            self._company.notify_all()
            self._company.wait_for(lambda: self._released.is_set() or self._stopping.is_set())
            return not self._released.is_set()

    def _wait_for_company(self) -> None:
        """Hold a generation request until ``hold_until_in_flight`` requests wait together.

        Only waiting requests count: one still sending its answer is in flight but would let a
        newcomer through alone, which left the last requests of a run short of a group."""
        with self._lock:
            wanted = self.behaviour.hold_until_in_flight
            if not wanted:
                return
            self._waiting += 1
            if self._waiting >= wanted:
                self._waiting = 0
                self._gatherings += 1
                self._company.notify_all()
                return
            seen = self._gatherings
            self._company.wait_for(
                lambda: self._gatherings > seen or self._stopping.is_set(), HOLD_TIMEOUT_S
            )

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _next_fault(self) -> str | None:
        with self._lock:
            if self.behaviour.fail_next:
                return self.behaviour.fail_next.popleft()
            return self.behaviour.always

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _queue(self, payload: dict[str, Any], polls: int | None) -> str:
        job_id = f"stub-{next(self._job_ids)}"
        with self._lock:
            self._jobs[job_id] = _QueuedJob(payload, polls)
        return job_id

    def _poll(self, job_id: str) -> dict[str, Any] | bool | None:
        """The payload when ready, None while pending, False for an unknown id."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            if job.polls_left is None:
                return None
            job.polls_left -= 1
            if job.polls_left > 0:
                return None
            del self._jobs[job_id]
            return job.payload

    def _configure(self, changes: dict[str, Any]) -> None:
        names = {f.name for f in fields(StubBehaviour)}
        with self._lock:
            for name, value in changes.items():
                if name == "fail_next":
                    self.behaviour.fail_next.extend(value)
                elif name == "retired_models":
                    self.behaviour.retired_models = set(value)
                elif name in names:
                    setattr(self.behaviour, name, value)
                else:
                    raise ValueError(f"unknown behaviour field {name!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nvidia-stub/1.0"

    @property
    def stub(self) -> NvidiaStub:
        return self.server.stub  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read stub.records instead

    # --- routing -------------------------------------------------------------------------------
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_stub/behaviour":
            return self._admin_configure(raw)
        self._count_in_flight()
        try:
            self._generate(raw)
        finally:
            self._answered()

    def do_GET(self) -> None:
        if self.path == "/_stub/stats":
            return self._json(200, self.stub.stats())
        self._count_in_flight()
        try:
            self._status()
        finally:
            self._answered()

    def _count_in_flight(self) -> None:
        self._in_flight = True
        self.stub._enter()

    def _answered(self) -> None:
        """Leave the in-flight count before the answer is sent: a client that got its answer and
        sent the next request must never find this one still counted."""
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            self.stub._leave()

    # --- generation ----------------------------------------------------------------------------
    def _generate(self, raw: bytes) -> None:
        arrived = self.stub.clock()
        model = self.path[len(GENAI_PREFIX) :] if self.path.startswith(GENAI_PREFIX) else None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        authorized = self._authorized()

        def answer(status: int, *args: Any, **kwargs: Any) -> None:
            self.stub._record(
                RequestRecord(
                    arrived,
                    "POST",
                    self.path,
                    model,
                    body,
                    authorized,
                    status,
                    self.client_address[1],
                )
            )
            if status:
                self._json(status, *args, **kwargs)
            else:
                self._hang_up()

        if not authorized:
            return answer(401, _problem(401, "Unauthorized", "Bearer token missing or invalid."))
        if model not in MODELS or model in self.stub.behaviour.retired_models:
            return answer(404, _problem(404, "Not Found", f"Function '{model}' not found."))
        if body is None:
            return answer(422, _problem(422, "Unprocessable Entity", "Body is not valid JSON."))
        problems = validate_body(model, body) or self._example_problems(body)
        if problems:
            return answer(422, {"detail": problems})

        if self.stub._hold():
            return self._hang_up()
        self.stub._wait_for_company()
        self.stub._sleep(self.stub.behaviour.latency)
        fault = self.stub._next_fault()
        if fault == "hangup":
            return answer(0)
        if fault in ("429", "401", "403", "422", "500", "502", "503"):
            status = int(fault)
            headers = {}
            if status == 429 and self.stub.behaviour.retry_after is not None:
                headers["Retry-After"] = f"{self.stub.behaviour.retry_after:g}"
            if status == 422:
                return answer(422, {"detail": SCRIPTED_422})
            detail = "Too many requests." if status == 429 else "Scripted failure."
            return answer(status, _problem(status, f"Stub {status}", detail), headers)
        if fault == "slow":
            self.stub._sleep(self.stub.behaviour.slow_seconds)
        payload = self._payload(model, body, fault)
        if fault == "truncated":
            text = json.dumps(payload)
            return answer(200, raw_text=text[: len(text) // 2])
        if fault == "never_ready" or self.stub.behaviour.queue_polls > 0:
            polls = None if fault == "never_ready" else self.stub.behaviour.queue_polls
            job_id = self.stub._queue(payload, polls)
            return answer(202, {"status": "pending"}, {"NVCF-REQID": job_id})
        return answer(200, payload)

    def _example_problems(self, body: Any) -> list[dict[str, Any]]:
        image = body.get("image", "") if isinstance(body, dict) else ""
        if not self.stub.behaviour.examples_only or not image or ";example_id," in image:
            return []
        msg = "Only example images are supported: data:image/png;example_id,N"
        return [{"loc": ["body", "image"], "msg": msg, "type": "value_error"}]

    def _payload(self, model: str, body: dict[str, Any], fault: str | None) -> dict[str, Any]:
        family = MODELS[model]
        prompt = body["text_prompts"][0]["text"] if family == "sdxl" else body["prompt"]
        reference = _input_image(body.get("image", ""))
        width, height = _stub_size(family, body, reference)
        seed = body.get("seed") or int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4])
        reason = "SUCCESS"
        filtered = self.stub.behaviour.filter_word and self.stub.behaviour.filter_word in prompt
        if filtered or (reference is not None and self.stub.behaviour.filter_references):
            reason, picture = "CONTENT_FILTERED", b"" if family == "sd3" else _black(width, height)
        elif fault == "not_image":
            picture = b"this is not a picture, just some text"
        elif fault == "oversized":
            picture = _black(4100, 64)
        elif fault == "black":
            picture = _black(width, height)
        else:
            picture = draw_picture(prompt, width, height, reference)
        encoded = base64.b64encode(picture).decode()
        if family == "sd3":
            return {"image": encoded, "finish_reason": reason, "seed": seed}
        return {"artifacts": [{"base64": encoded, "finishReason": reason, "seed": seed}]}

    # --- status polls --------------------------------------------------------------------------
    def _status(self) -> None:
        arrived = self.stub.clock()
        authorized = self._authorized()
        status, payload, headers = 404, _problem(404, "Not Found", "No such request."), None
        if not authorized:
            status = 401
            payload = _problem(401, "Unauthorized", "Bearer token missing or invalid.")
        elif self.path.startswith(STATUS_PREFIX):
            job_id = self.path[len(STATUS_PREFIX) :]
            result = self.stub._poll(job_id)
            if result is None:
                status, payload, headers = 202, {"status": "pending"}, {"NVCF-REQID": job_id}
            elif result is not False:
                status, payload = 200, result
        # recorded before answering, so a client that has its answer finds the record there
        self.stub._record(
            RequestRecord(
                arrived, "GET", self.path, None, None, authorized, status, self.client_address[1]
            )
        )
        self._json(status, payload, headers)

    # --- plumbing ------------------------------------------------------------------------------
    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.stub.key}"

    def _admin_configure(self, raw: bytes) -> None:
        try:
            self.stub._configure(json.loads(raw))
        except (ValueError, TypeError) as error:
            return self._json(400, {"error": str(error)})
        self._json(200, self.stub.stats())

    def _json(
        self,
        status: int,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        raw_text: str | None = None,
    ) -> None:
        data = (raw_text if raw_text is not None else json.dumps(payload)).encode()
        self._answered()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _hang_up(self) -> None:
        self._answered()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail}


# --- request validation (the contract) -------------------------------------------------------
SCRIPTED_422 = [
    {
        "loc": ["body", "steps"],
        "msg": "Input should be less than or equal to 100",
        "type": "less_than_equal",
    }
]


def validate_body(model: str, body: Any) -> list[dict[str, Any]]:
    """What is wrong with ``body`` for ``model`` as the service's 422 detail items; [] if none."""
    schema = json.loads((SCHEMAS_DIR / f"{model.split('/', 1)[1]}.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [
        {"loc": ["body", *error.absolute_path], "msg": error.message, "type": error.validator}
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    ]


# --- pictures --------------------------------------------------------------------------------
def _input_image(image: str) -> Image.Image | None:
    """The picture of a body's ``image`` data URL (None for none, or for an example)."""
    if ";base64," not in image:
        return None
    picture = Image.open(io.BytesIO(base64.b64decode(image.split(",", 1)[1])))
    picture.load()
    return picture.convert("RGB")


def _stub_size(
    family: str, body: dict[str, Any], reference: Image.Image | None = None
) -> tuple[int, int]:
    ratio = body.get("aspect_ratio", "1:1")
    if family == "kontext" and ratio == "match_input_image":
        w, h = reference.size if reference is not None else (1, 1)
    elif family == "kontext":
        w, h = (int(side) for side in ratio.split(":"))
    elif family == "sd3":
        w, h = SD3_RATIOS[body.get("aspect_ratio", "1:1")]
    else:
        w, h = body.get("width", 1024), body.get("height", 1024)
    scale = MAX_STUB_SIDE / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def draw_picture(
    prompt: str, width: int, height: int, reference: Image.Image | None = None
) -> bytes:
    """A PNG whose colours and shapes come from the prompt's hash, with the prompt written on it,
    so different sentences give visibly different pictures. An input picture (Kontext) is pasted
    whole into the bottom-right corner, a third of the height: the same hero in every frame."""
    digest = hashlib.sha256(prompt.encode()).digest()
    sky, ground, accent = digest[0:3], digest[3:6], digest[6:9]
    image = Image.new("RGB", (width, height), tuple(sky))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 2 // 3, width, height), fill=tuple(ground))
    for i in range(4):
        x, y = digest[10 + i] * width // 256, digest[14 + i] * height // 256
        r = 10 + digest[18 + i] * min(width, height) // 1024
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(accent), outline=(255, 255, 255))
    font_size = max(10, height // 20)
    font = ImageFont.load_default(size=font_size)
    lines = [""]
    for word in prompt.split():
        candidate = f"{lines[-1]} {word}".strip()
        if draw.textlength(candidate, font=font) <= width - 16 or not lines[-1]:
            lines[-1] = candidate
        else:
            lines.append(word)
    ink = (0, 0, 0) if sum(sky) > 384 else (255, 255, 255)
    for number, line in enumerate(lines[:4]):
        draw.text((8, 8 + number * font_size * 5 // 4), line, font=font, fill=ink)
    if reference is not None:
        hero = reference.copy()
        hero.thumbnail((width // 2, height // 3))
        image.paste(hero, (width - hero.width, height - hero.height))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _black(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- command line ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local stand-in for NVIDIA's image API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key", default=FAKE_KEY, help="the one key it accepts")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per picture")
    parser.add_argument(
        "--queue-polls", type=int, default=0, help="answer 202 and want this many status polls"
    )
    parser.add_argument(
        "--fail-next",
        nargs="*",
        default=[],
        choices=sorted(FAULTS),
        help="faults for the first requests, one each",
    )
    parser.add_argument("--always", choices=sorted(FAULTS), help="a fault for every request")
    parser.add_argument("--retry-after", type=float, default=1.0)
    args = parser.parse_args(argv)
    stub = NvidiaStub(
        key=args.key,
        host=args.host,
        port=args.port,
        latency=args.latency,
        queue_polls=args.queue_polls,
        always=args.always,
        retry_after=args.retry_after,
    )
    stub.fail_next(*args.fail_next)
    print(f"NVIDIA stub listening on {stub.root_url}", flush=True)
    print(f"S2I_NVIDIA_BASE_URL={stub.base_url}", flush=True)
    print(f"S2I_NVCF_STATUS_URL={stub.status_url}", flush=True)
    print(f"NVIDIA_API_KEY={stub.key}", flush=True)
    try:
        stub.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stub.server.server_close()


if __name__ == "__main__":
    main()
