"""A SendGrid v3 Mail Send API on loopback (POST /v3/mail/send: 202 and an empty body, 401 for a
wrong key) that can hold every request until the test lets go, like a provider that has become
slow. The auth service reaches it through SENDGRID_API_BASE with the real SDK.

    with FakeSendGrid() as fake:
        fake.hold()                 # requests now wait ...
        env = fake.stack_env(tmp)   # SENDGRID_API_BASE and SENDGRID_API_KEY_FILE
        fake.release()              # ... until here
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

API_KEY = "SG.fake-test-key-not-real"
MAX_HOLD_S = 60


class FakeSendGrid:
    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.sent: list[dict[str, Any]] = []
        self.waiting = 0
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stack_env(self, folder: Path) -> dict[str, str]:
        key_file = folder / "sendgrid.key"
        key_file.write_text(self.api_key)
        return {"SENDGRID_API_BASE": self.url, "SENDGRID_API_KEY_FILE": str(key_file)}

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def subjects(self) -> list[str]:
        with self._lock:
            return [m["subject"] for m in self.sent]

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        if path != "/v3/mail/send":
            return 404
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401
        with self._lock:
            self.waiting += 1
        try:
            self._open.wait(MAX_HOLD_S)
        finally:
            with self._lock:
                self.waiting -= 1
        with self._lock:
            self.sent.append(json.loads(body or b"{}"))
        return 202

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                self.send_response(fake._handle(self.path, headers, body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
