"""A local stand-in for NVIDIA's OpenAI-compatible LLM endpoint (shared/docs/nvidia-genai-api.md).

It enforces the contract (``POST /v1/chat/completions``, Bearer key, a body of exactly ``model``,
``messages``, ``temperature``, ``top_p``, ``max_tokens``, ``stream``; 401, 404 for an unknown model,
422 for a body that breaks the schema) and answers like a well-behaved model would: it reads the
story out of the request and writes the scene writer's JSON for the frames asked for. What it
writes comes from ``StubStory`` (characters, setting, and an English line and a scene per sentence
text); a sentence it has no script for gets ``english`` = the sentence and a scene made from it.

In tests::

    with LLMStub(story=StubStory(...)) as llm:
        settings = Settings(nvidia_api_key=llm.key, llm_base_url=llm.base_url)
        llm.fail_next("429", "not_json")      # the next two requests fail that way, then normal
        ... llm.requests(), llm.user_stories()

As a command (benchmarks, trying the app without a key)::

    python -m tests.llm_stub --port 8766 --latency 3

Faults, for ``fail_next(...)`` or ``always``: "429", "500", "503" (HTTP errors), "not_json" (prose),
"wrong_shape" (JSON, but not the asked object), "bad_frame" (the first frame entry has no scene),
"extra_frames" (entries for indexes that do not exist), "fenced" (the JSON in a code fence),
"slow" (answers after ``slow_seconds``), "empty_story" (a valid object with no frames).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema

FAKE_KEY = "nvapi-test.fake-llm-key"  # obviously not a real key
CHAT_PATH = "/v1/chat/completions"
MODELS = {
    "meta/llama-3.1-8b-instruct",
    "meta/llama-3.2-3b-instruct",
    "nvidia/nemotron-mini-4b-instruct",
    "microsoft/phi-4-mini-instruct",
}
FAULTS = {
    "429",
    "500",
    "503",
    "not_json",
    "wrong_shape",
    "bad_frame",
    "extra_frames",
    "fenced",
    "slow",
    "empty_story",
}
# The contract's body, written out independently of the client.
BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string"},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["role", "content"],
                "properties": {
                    "role": {"enum": ["system", "user", "assistant"]},
                    "content": {"type": "string"},
                },
            },
        },
        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
        "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "max_tokens": {"type": "integer", "minimum": 1},
        "stream": {"type": "boolean"},
    },
}


@dataclass
class StubStory:
    """What the stand-in model writes: the same for every request about the story."""

    characters: list[dict[str, str]] = field(default_factory=list)
    setting: str = "a sunny park"
    frames: dict[str, tuple[str, str]] = field(default_factory=dict)  # sentence -> english, scene
    # for sentences not in ``frames`` ({index} and {text} are filled in)
    english_template: str = "{text}"
    scene_template: str = "A picture of this: {text}"


@dataclass
class LLMRequest:
    time: float
    body: Any
    authorized: bool
    status: int


class LLMStub:
    def __init__(
        self,
        key: str = FAKE_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        story: StubStory | None = None,
        latency: float = 0.0,
        slow_seconds: float = 60.0,
        always: str | None = None,
        retry_after: float | None = 0.05,
    ):
        self.key = key
        self.story = story or StubStory()
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.always = always
        self.retry_after = retry_after
        self.records: list[LLMRequest] = []
        self._fail_next: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._answering = threading.Event()  # cleared by hold(): answers wait for release()
        self._answering.set()
        self.held = 0  # requests waiting behind hold() now
        self.server = ThreadingHTTPServer((host, port), _Handler)
        self.server.stub = self  # type: ignore[attr-defined]

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> LLMStub:
        threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="llm-stub", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping for latency or "slow"
        self._answering.set()  # and those held
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LLMStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def hold(self) -> None:
        """Requests wait, unanswered, until ``release()``: a test sees what the client does
        meanwhile, however fast or slow the machine."""
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    def _wait_for_release(self) -> None:
        with self._lock:
            self.held += 1
        self._answering.wait()
        with self._lock:
            self.held -= 1

    def fail_next(self, *faults: str) -> None:
        unknown = set(faults) - FAULTS
        if unknown:
            raise ValueError(f"unknown stub fault(s) {sorted(unknown)}; known: {sorted(FAULTS)}")
        with self._lock:
            self._fail_next.extend(faults)

    def requests(self) -> list[LLMRequest]:
        with self._lock:
            return list(self.records)

    def user_stories(self) -> list[dict[str, Any]]:
        """The story object of each request's first user message (what the model was told)."""
        return [_story_of(r.body) for r in self.requests() if isinstance(r.body, dict)]

    def _next_fault(self) -> str | None:
        with self._lock:
            return self._fail_next.popleft() if self._fail_next else self.always

    def _record(self, record: LLMRequest) -> None:
        with self._lock:
            self.records.append(record)

    def answer(self, body: dict[str, Any], fault: str | None) -> str:
        """The stand-in model's reply text to a valid request."""
        if fault == "not_json":
            return "Sure! Here are the scenes you asked for: the fox runs, the fox smiles."
        if fault == "wrong_shape":
            return json.dumps({"scenes": ["a fox", "a balloon"]})
        story = _story_of(body)
        wanted = [s["index"] for s in story.get("sentences", [])]
        texts = {s["index"]: s["text"] for s in story.get("sentences", [])}
        frames = [self._frame(i, texts[i]) for i in wanted]
        if fault == "bad_frame" and frames:
            frames[0] = {"index": frames[0]["index"], "english": frames[0]["english"]}
        if fault == "extra_frames":
            frames += [{"index": 999, "english": "Extra.", "scene": "Nothing."}]
        if fault == "empty_story":
            frames = []
        characters = story.get("known_characters") or self.story.characters
        answer = {"characters": characters, "setting": self.story.setting, "frames": frames}
        text = json.dumps(answer, ensure_ascii=False)
        return f"```json\n{text}\n```" if fault == "fenced" else text

    def _frame(self, index: int, text: str) -> dict[str, Any]:
        story = self.story
        english = story.english_template.format(index=index, text=text)
        scene = story.scene_template.format(index=index, text=text)
        english, scene = story.frames.get(text, (english, scene))
        return {"index": index, "english": english, "scene": scene}


def _story_of(body: dict[str, Any]) -> dict[str, Any]:
    first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return json.loads(first_user[first_user.index("{") :])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llm-stub/1.0"

    @property
    def stub(self) -> LLMStub:
        return self.server.stub  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        arrived = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorized = self.headers.get("Authorization") == f"Bearer {self.stub.key}"
        try:
            body = json.loads(raw)
        except ValueError:
            body = None

        def reply(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None):
            self.stub._record(LLMRequest(arrived, body, authorized, status))
            self._json(status, payload, headers or {})

        if self.path != CHAT_PATH:
            return reply(404, _problem(404, "Not Found", f"No route {self.path}"))
        if not authorized:
            return reply(401, _problem(401, "Unauthorized", "Invalid or missing API key"))
        problem = _body_problem(body)
        if problem:
            return reply(422, {"detail": [{"loc": ["body"], "msg": problem, "type": "value"}]})
        if body["model"] not in MODELS:
            return reply(404, _problem(404, "Not Found", f"Unknown model {body['model']}"))
        if body.get("stream"):
            return reply(422, _problem(422, "Unprocessable", "this stand-in does not stream"))
        fault = self.stub._next_fault()
        self.stub._wait_for_release()
        self.stub._stopping.wait(self.stub.slow_seconds if fault == "slow" else self.stub.latency)
        if fault in ("429", "500", "503"):
            status = int(fault)
            retry = {"Retry-After": str(self.stub.retry_after)} if status == 429 else {}
            if self.stub.retry_after is None:
                retry = {}
            title = "Too Many Requests" if status == 429 else "Internal Server Error"
            return reply(status, _problem(status, title, title), retry)
        content = self.stub.answer(body, fault)
        reply(200, _completion(body["model"], content))

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            self.wfile.write(data)


def _body_problem(body: Any) -> str | None:
    try:
        jsonschema.validate(body, BODY_SCHEMA)
    except jsonschema.ValidationError as error:
        return error.message
    return None


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"status": status, "title": title, "detail": detail}


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local stand-in for NVIDIA's LLM endpoint.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--key", default=FAKE_KEY)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--always", choices=sorted(FAULTS), help="a fault for every request")
    args = parser.parse_args(argv)
    stub = LLMStub(args.key, args.host, args.port, latency=args.latency, always=args.always)
    print(f"LLM stub listening: S2I_LLM_BASE_URL={stub.base_url}", flush=True)
    try:
        stub.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stub.server.server_close()


if __name__ == "__main__":
    main()
