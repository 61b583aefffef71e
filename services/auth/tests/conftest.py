"""Fixtures for the auth unit tests: a database on the embedded server (one per module, a fresh
database per test), and a fake SendGrid v3 API (a third party, so a fake is allowed)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from testkit.mongo import mongo_server


@dataclass
class FakeSendGrid:
    """Speaks POST /v3/mail/send as documented: 202 and an empty body; 401 for a wrong key."""

    api_key: str
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 202


def _handler(fake: FakeSendGrid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fake.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(body or b"{}")}
            )
            if self.path != "/v3/mail/send":
                self._answer(404, {"errors": [{"message": "not found"}]})
            elif self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                self._answer(401, {"errors": [{"message": "The provided authorization grant is invalid"}]})
            else:
                self._answer(fake.status, None)

        def _answer(self, status: int, payload: Any) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            if data:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture()
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    fake = FakeSendGrid(api_key="SG.test-key-not-real")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoClient]:
    with mongo_server(tmp_path_factory.mktemp("auth-db")) as uri:
        client: MongoClient = MongoClient(uri, tz_aware=True)
        yield client
        client.close()


@pytest.fixture()
def db(mongo: MongoClient) -> Iterator[Database]:
    name = f"auth_test_{uuid.uuid4().hex[:12]}"
    yield mongo[name]
    mongo.drop_database(name)
