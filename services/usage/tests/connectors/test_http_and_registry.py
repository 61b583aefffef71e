"""The shared HTTP helper, base URL lookup and the platform registry."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from testkit.fakes import FakeOpenRouter, SleepRecorder
from usage.connectors import CONNECTORS, PLATFORMS, connector_for, get_platform, list_platforms
from usage.connectors.base import BASE_URL_ENV_PREFIX, base_url_for
from usage.connectors.errors import AuthRejected, ProviderRejected, ProviderUnavailable, UnexpectedShape
from usage.connectors.http import HttpClient, parse_retry_after


def test_decimal_numbers_and_retry_after_cap(sleeps: SleepRecorder) -> None:
    client = HttpClient(max_attempts=3, sleep=sleeps, retry_after_max=10)
    with FakeOpenRouter() as fake:
        fake.serve_raw("/activity", {"data": [{"usage": 0.1, "n": 3}]})
        fake.rate_limit(times=1, retry_after="3600")
        body = client.get_json(fake.url + "/activity", headers={"Authorization": f"Bearer {fake.api_key}"})
    assert body["data"][0]["usage"] == Decimal("0.1") and body["data"][0]["n"] == 3
    assert sleeps.calls == [10]  # a huge Retry-After is capped


def test_status_mapping(sleeps: SleepRecorder) -> None:
    client = HttpClient(max_attempts=2, sleep=sleeps)
    auth = {"Authorization": "Bearer nope"}
    with FakeOpenRouter() as fake:
        with pytest.raises(AuthRejected):
            client.get_json(fake.url + "/activity", headers=auth)
        fake.fail(404, body={"error": {"message": "no such thing"}})
        with pytest.raises(ProviderRejected, match="no such thing"):
            client.get_json(fake.url + "/activity", headers=auth)
    with pytest.raises(UnexpectedShape, match="not JSON"):
        _serve_text_once(client)


def _serve_text_once(client: HttpClient) -> Any:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Text(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>oops</html>")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Text)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        return client.get_json(f"http://127.0.0.1:{server.server_address[1]}/x", headers={})
    finally:
        thread.join(timeout=5)
        server.server_close()


def test_network_errors_are_retried_then_unavailable(sleeps: SleepRecorder) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HttpClient(max_attempts=3, sleep=sleeps, backoff_base=0.5)
    with pytest.raises(ProviderUnavailable, match="could not connect after 3 attempts"):
        client.get_json(f"http://127.0.0.1:{port}/x", headers={})
    assert sleeps.calls == [0.5, 1.0]


def test_parse_retry_after() -> None:
    now = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    when = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(when, now=now) == 30.0


def test_base_url_for() -> None:
    assert base_url_for("openai", "https://api.openai.com/v1", {}) == "https://api.openai.com/v1"
    env = {BASE_URL_ENV_PREFIX + "DEEPGRAM": "http://127.0.0.1:9999/v1/"}
    assert base_url_for("deepgram", "https://api.deepgram.com/v1", env) == "http://127.0.0.1:9999/v1"
    with pytest.raises(ValueError):
        base_url_for("openai", "x", {BASE_URL_ENV_PREFIX + "OPENAI": "ftp://example"})


def test_every_key_platform_has_a_connector() -> None:
    """The shared catalog (svccommon.platforms) and the connectors agree on who takes API keys."""
    key_platforms = {p.id for p in list_platforms() if p.connect in ("api_key", "both")}
    assert key_platforms == set(CONNECTORS)
    assert get_platform("openai").name == "OpenAI" and PLATFORMS["deepgram"].connect == "api_key"
    for platform, cls in CONNECTORS.items():
        assert cls.platform == platform and cls.invalid_key_message
    with pytest.raises(KeyError):
        connector_for("mistral")
    with pytest.raises(KeyError):
        get_platform("nope")


def test_fake_tenants_keep_data_and_failures_apart(http: HttpClient, clock: Any) -> None:
    """One shared fake serves independent data sets by API key (the session stack relies on it)."""
    with FakeOpenRouter() as fake:
        first, second = fake.tenant(), fake.tenant()
        first.clock = clock
        first.load_activity([{"date": "2026-09-01", "model": "a/b", "usage": "1.5"}])
        second.unavailable()
        connector = connector_for("openrouter", http=http, base_url=first.url, clock=clock)
        [day] = connector.fetch(first.api_key, date(2026, 9, 1), date(2026, 9, 1))
        assert [(r.model, r.cost_usd) for r in day.records] == [("a/b", Decimal("1.5"))]
        with pytest.raises(ProviderUnavailable):
            list(connector.fetch(second.api_key, date(2026, 9, 1), date(2026, 9, 1)))
        assert len(first.requests) == 1 and len(second.requests) == http.max_attempts
        assert fake.requests == []
