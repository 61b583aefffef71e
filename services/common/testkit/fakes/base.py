"""Shared machinery for fake provider servers used by unit and end-to-end tests.

A fake is a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1:0`` in a thread.
Subclasses implement ``authorized`` and ``route``; the base class adds request
recording, failure injection (429 with Retry-After, 503 throughout, any
status; and the standing faults of a bad provider: ``hang``, ``garbage``,
``server_errors``, ``rate_limited``) and exact JSON numbers (``Decimal`` values are written verbatim).

    with FakeOpenAI() as fake:
        fake.load_costs([...])
        connector = OpenAIConnector(base_url=fake.url, http=...)

One running fake can serve many independent data sets: ``fake.tenant()`` returns
a fake of the same kind with its own API key, rows, failures and request log,
answered by the same server. Tests sharing a session-wide fake each use their own
tenant, so they never see each other's data or injected failures.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

# What a broken proxy in front of a provider answers with a 200: HTML, a truncated JSON start, a byte
# that is not UTF-8.
GARBAGE = b'<html><body>502 Bad Gateway</body></html>\n{"data": [{"amount": 1.0\xff'
_DECIMAL_MARK = re.compile(r'"__decimal__([-0-9.eE+]+)__"')


def dumps(body: Any) -> bytes:
    """JSON with Decimals as number literals (``0.06`` stays exactly ``0.06``)."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"__decimal__{value}__"
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(f"cannot encode {type(value).__name__}")

    return _DECIMAL_MARK.sub(r"\1", json.dumps(body, default=mark)).encode()


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def unix(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp())


def days_between(first: date, end_exclusive: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((end_exclusive - first).days)]


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str  # without the fake's path prefix
    query: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Failure:
    status: int
    remaining: int | None  # None: every request
    headers: dict[str, str]
    body: Any


class FakeProviderServer:
    """Base class; ``url`` mirrors the provider's real base URL path."""

    path_prefix: ClassVar[str] = ""  # stripped from request paths before ``route`` sees them
    # The path of the provider's API root, as its official SDK names it (docs/providers.md, base
    # URLs): ``url`` ends there, like PROVIDER_BASE_URL_<PLATFORM>. None: the same as path_prefix.
    api_root: ClassVar[str | None] = None
    default_key: ClassVar[str] = "test-key-0000"

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key or self.default_key
        self.requests: list[SeenRequest] = []
        self.page_size: int | None = None  # force small pages to exercise pagination
        self._failures: list[_Failure] = []
        self._raw: dict[str, tuple[int, Any]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._root: FakeProviderServer | None = None  # set on tenants: the fake that serves them
        self._tenants: list[FakeProviderServer] = []
        self._hang_s: float | None = None  # set: every request is held this long (None: answered)
        self._garbage = False  # every request answered 200 with a body that is not JSON
        self._released = threading.Event()  # set on stop: held requests let go at once

    def tenant(self, api_key: str | None = None) -> Self:
        """A separate data set with its own key (a fresh one by default), served by this fake."""
        if self._root is not None:
            return self._root.tenant(api_key)
        key = api_key or f"{self.default_key}-{uuid.uuid4().hex[:16]}"
        fresh = self._new_tenant(key)
        fresh._root = self
        with self._lock:
            if any(t.api_key == key for t in [self, *self._tenants]):
                raise ValueError("a tenant with this key already exists")
            self._tenants.append(fresh)
        return fresh

    def _new_tenant(self, api_key: str) -> Self:
        return type(self)(api_key=api_key)

    # lifecycle -----------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler; a fake that speaks another protocol (JSON-RPC style, OAuth forms)
        returns its own."""
        return _Handler

    def start(self) -> Self:
        if self._root is not None:
            raise RuntimeError("a tenant is served by its root fake; start that one")
        handler = type("Handler", (self._handler_class(),), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval keeps stop() fast (serve_forever checks it between polls).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        for fake in [self, *self._tenants]:
            fake._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        server = (self._root or self)._server
        if server is None:
            raise RuntimeError("fake server is not running")
        root = self.path_prefix if self.api_root is None else self.api_root
        return f"http://127.0.0.1:{server.server_address[1]}{root}"

    # failure injection ----------------------------------------------------
    def rate_limit(self, times: int = 1, retry_after: str | None = "1") -> None:
        """Answer the next ``times`` requests with 429 (and Retry-After unless None)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.fail(429, times=times, headers=headers, body=self.error_body(429, "rate limited"))

    def unavailable(self) -> None:
        """503 on every request from now on."""
        self.fail(503, times=None, body=self.error_body(503, "service unavailable"))

    def fail(
        self, status: int, *, times: int | None = 1, headers: dict[str, str] | None = None, body: Any = None
    ) -> None:
        with self._lock:
            self._failures.append(_Failure(status, times, headers or {}, body))

    def server_errors(self) -> None:
        """500 on every request from now on (an outage that lasts)."""
        self.fail(500, times=None, body=self.error_body(500, "internal server error"))

    def rate_limited(self, retry_after: str = "1") -> None:
        """429 with ``Retry-After`` on every request from now on (a key whose quota is spent)."""
        self.fail(
            429, times=None, headers={"Retry-After": retry_after}, body=self.error_body(429, "rate limited")
        )

    def hang(self, seconds: float = 3600.0) -> None:
        """Hold every request ``seconds`` before answering (a provider that accepts connections
        and never answers); stop() or ``heal()`` lets held requests go."""
        with self._lock:
            self._released.clear()
            self._hang_s = seconds

    def garbage(self) -> None:
        """200 on every request, with a body that is not JSON (a proxy's error page, a truncated
        answer): nothing in it may ever be stored as a number."""
        with self._lock:
            self._garbage = True

    def heal(self) -> None:
        """Back to normal: standing faults and injected failures are cleared, held requests go."""
        with self._lock:
            self._hang_s, self._garbage = None, False
            self._failures.clear()
        self._released.set()

    def serve_raw(self, path: str, body: Any, status: int = 200) -> None:
        """Answer ``path`` (relative to the prefix) with a fixed body, e.g. an unknown shape."""
        self._raw[path] = (status, body)

    def calls(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]

    # for subclasses ---------------------------------------------------------
    def authorized(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message, "type": "fake_error", "code": str(status)}}

    def page(self, items: list[Any], limit: int, token: str | None) -> tuple[list[Any], str | None]:
        """Cursor pagination over ``items``: returns (this page, next cursor or None)."""
        size = max(1, min(limit, self.page_size or limit))
        offset = int(token.removeprefix("page_")) if token else 0
        chunk = items[offset : offset + size]
        more = offset + size < len(items)
        return chunk, (f"page_{offset + size}" if more else None)

    # dispatch -----------------------------------------------------------
    def _dispatch(
        self, method: str, raw_path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        """The tenant whose key the request carries answers it; unknown keys reach this fake (401)."""
        with self._lock:
            tenants = list(self._tenants)
        owner = next((t for t in tenants if t.authorized(headers)), self)
        return owner._answer(method, raw_path, headers)

    def _take_failure(self) -> _Failure | None:
        """The next injected failure, if any (counting it down)."""
        with self._lock:
            failure = self._failures[0] if self._failures else None
            if failure is not None and failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.pop(0)
        return failure

    def _answer(self, method: str, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(raw_path)
        path = parts.path
        if not path.startswith(self.path_prefix):
            return 404, {}, self.error_body(404, "not found")
        path = path[len(self.path_prefix) :] or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        with self._lock:
            self.requests.append(SeenRequest(method, path, query, headers))
            hang_s, garbage = self._hang_s, self._garbage
        if hang_s is not None and not self._released.wait(hang_s):
            return 504, {}, self.error_body(504, "held too long")  # the client gave up long ago
        if garbage:
            return 200, {"Content-Type": "text/html"}, GARBAGE
        failure = self._take_failure()
        if failure is not None:
            return failure.status, failure.headers, failure.body
        if not self.authorized(headers):
            return 401, {}, self.error_body(401, "invalid credentials")
        if path in self._raw:
            status, body = self._raw[path]
            return status, {}, body
        try:
            status, body = self.route(path, query)
        except (KeyError, ValueError) as exc:  # a malformed request from the client
            return 400, {}, self.error_body(400, f"bad request: {exc}")
        return status, {}, body


class _Handler(BaseHTTPRequestHandler):
    fake: ClassVar[FakeProviderServer]

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, body = self.fake._dispatch("GET", self.path, headers)
        payload = body if isinstance(body, bytes) else dumps(body)
        try:
            self.send_response(status)
            if "Content-Type" not in extra:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # a held request's client timed out and left

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean
