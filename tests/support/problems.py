"""Checks of the gateway's RFC 9457 problem answers."""

from __future__ import annotations

from typing import Any

import requests

PROBLEM = "application/problem+json"


def assert_problem(response: requests.Response, status: int, *phrases: str) -> dict[str, Any]:
    """The response is a `status` problem whose detail holds every phrase, with no internals."""
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    assert response.headers["Content-Type"] == PROBLEM, response.headers["Content-Type"]
    body = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["X-Request-ID"]
    for phrase in phrases:
        assert phrase in body["detail"], body["detail"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body
