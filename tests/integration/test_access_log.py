"""One structured access-log line per request with the agreed fields, and never the value of an
Authorization header (or any other credential) anywhere in the logs."""

from __future__ import annotations

import time

from gateway.healthcache import MAX_AGE_S
from support import logs
from testkit.waiting import wait_until

ACCESS_FIELDS = {
    "time",
    "method",
    "path",
    "status",
    "duration_ms",
    "bytes",
    "request_id",
    "account_id",
    "client_ip",
    "user_agent",
}


def _gateway_lines(stack, request_id: str, wait_s: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + wait_s
    while True:
        lines = [
            r
            for r in logs.records(stack)
            if r.get("request_id") == request_id and r.get("logger") == "gateway.access"
        ]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_access_line_has_fields_and_no_credentials(stack, http):
    canary = "canary-token-7f3a9c1e5b"
    response = http.get(
        f"{stack.base_url}/v1/status?probe=1",
        headers={
            "Authorization": f"Bearer {canary}",
            "X-Request-ID": "access-log-test-1",
            "User-Agent": "ua-test/1",
        },
    )
    assert response.status_code == 200
    lines = _gateway_lines(stack, "access-log-test-1")
    assert len(lines) == 1
    line = lines[0]
    assert line.keys() >= ACCESS_FIELDS
    assert line["method"] == "GET" and line["path"] == "/v1/status" and line["status"] == 200
    assert line["bytes"] == len(response.content)
    assert line["client_ip"] == "127.0.0.1" and line["user_agent"] == "ua-test/1"
    assert isinstance(line["duration_ms"], int | float)
    assert canary not in stack.log_text()


def test_request_id_reaches_backend_log_lines(stack, http):
    time.sleep(MAX_AGE_S)  # past the cached health answer, so this request probes every backend
    http.get(f"{stack.base_url}/readyz", headers={"X-Request-ID": "follow-me-42"})
    wanted = {"gateway", "auth", "keyvault", "usage", "parser"}

    def services() -> set[str]:
        return {r["service"] for r in logs.records(stack) if r.get("request_id") == "follow-me-42"}

    wait_until(lambda: wanted <= services(), 10, 0.1, f"log lines with the request id from {wanted}")
