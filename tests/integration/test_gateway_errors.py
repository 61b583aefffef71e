"""Every gateway error is RFC 9457 problem+json with a request id, and carries no internals."""

from __future__ import annotations

import pytest

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def test_unknown_path_is_404_problem(stack, http):
    body = assert_problem(http.get(f"{stack.base_url}/v1/no-such-thing"), 404)
    assert body["instance"] == "/v1/no-such-thing"


def test_wrong_method_is_405_problem_with_allow(stack, http):
    response = http.delete(f"{stack.base_url}/v1/status")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_413_problem(stack, http):
    response = http.post(
        f"{stack.base_url}/v1/status",
        data=b"x" * (26 * 1024 * 1024),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_problem(response, 413)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/status", "/openapi.json"])
def test_success_responses_carry_security_headers(stack, http, path):
    response = http.get(f"{stack.base_url}{path}")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_valid_incoming_request_id_is_echoed_and_bad_one_replaced(stack, http):
    ok = http.get(f"{stack.base_url}/healthz", headers={"X-Request-ID": "trace-abc.123"})
    assert ok.headers["X-Request-ID"] == "trace-abc.123"
    bad = http.get(f"{stack.base_url}/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert bad.headers["X-Request-ID"] != "bad id\twith spaces" and len(bad.headers["X-Request-ID"]) == 32


def test_security_txt_names_security_contact(stack, http):
    response = http.get(f"{stack.base_url}/.well-known/security.txt")
    assert response.status_code == 200
    assert "Contact: mailto:security@" in response.text and "Expires:" in response.text
