"""A small OpenAI-compatible server for the parser's AI path: POST /v1/chat/completions with the
documented request and response shapes (CreateChatCompletionRequest/Response in the OpenAI
OpenAPI spec), driven by the real `openai` SDK through OPENAI_BASE_URL.

The "model" is scripted: each test queues the exact answer the next request gets, so it knows
what the parser must accept or reject. Every request is recorded for assertions (no tools, the
system message, the document passed as data).

    with FakeOpenAICompat() as fake:
        fake.reply_records([...])          # or fake.reply(content=..., refusal=..., status=...)
        env = fake.stack_env()             # OPENAI_API_KEY + OPENAI_BASE_URL for the parser
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_KEY = "sk-fake-openai-test-key"


@dataclass
class Reply:
    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    status: int = 200
    error: dict[str, Any] | None = None  # body of a non-200 answer
    delay_s: float = 0.0


@dataclass
class SeenCall:
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = field(repr=False)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])


def records_content(records: list[dict[str, Any]], platform: str = "openai", currency: str = "USD") -> str:
    """The JSON text a model following the parser's schema would answer with."""
    return json.dumps({"platform": platform, "currency": currency, "records": records})


def charge(date: str, model: str, cost: str, description: str = "", quantity: str | None = None,
           unit: str = "none") -> dict[str, Any]:  # fmt: skip
    return {
        "date": date,
        "model": model,
        "description": description or f"{model} usage",
        "cost": cost,
        "quantity": quantity,
        "unit": unit,
    }


class FakeOpenAICompat:
    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        self.api_key = api_key
        self.calls: list[SeenCall] = []
        self._replies: collections.deque[Reply] = collections.deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # scripting -------------------------------------------------------------------------
    def reply(self, **kwargs: Any) -> None:
        with self._lock:
            self._replies.append(Reply(**kwargs))

    def reply_records(
        self, records: list[dict[str, Any]], platform: str = "openai", currency: str = "USD"
    ) -> None:
        self.reply(content=records_content(records, platform, currency))

    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self.calls.clear()

    # lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stack_env(self) -> dict[str, str]:
        return {"OPENAI_API_KEY": self.api_key, "OPENAI_BASE_URL": self.url}

    def start(self) -> FakeOpenAICompat:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = fake._answer(self.path, dict(self.headers.items()), raw)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAICompat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # the API ---------------------------------------------------------------------------
    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("authorization") != f"Bearer {self.api_key}":
            return 401, _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if path.rstrip("/") != "/v1/chat/completions":
            return 404, _error(f"Unknown request URL: POST {path}.", "invalid_request_error", "unknown_url")
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, _error(
                "We could not parse the JSON body of your request.", "invalid_request_error", None
            )
        if not isinstance(body, dict) or "model" not in body or not isinstance(body.get("messages"), list):
            return 400, _error("'model' and 'messages' are required.", "invalid_request_error", None)
        with self._lock:
            self.calls.append(SeenCall(lowered, body, raw))
            reply = self._replies.popleft() if self._replies else None
        if reply is None:
            return 500, _error("The fake has no scripted reply for this request.", "server_error", None)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.status != 200:
            return reply.status, reply.error or _error("Scripted failure.", "server_error", None)
        return 200, self._completion(body["model"], reply)

    def _completion(self, model: str, reply: Reply) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": reply.content,
                        "refusal": reply.refusal,
                        "annotations": [],
                    },
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
