"""Reading an account's audit log through the gateway, as its owner would."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests


def list_events(http: requests.Session, stack: Any, account: Any, **params: Any) -> list[dict]:
    """Every event matching `params`, following next_cursor to the end."""
    events: list[dict] = []
    cursor = None
    while True:
        query = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        response = http.get(
            f"{stack.base_url}/v1/audit-events", params=query, headers=account.headers, timeout=30
        )
        assert response.status_code == 200, response.text
        body = response.json()
        events += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return events


def wait_for_events(
    http: requests.Session,
    stack: Any,
    account: Any,
    done: Callable[[list[dict]], bool],
    timeout_s: float = 30.0,
    **params: Any,
) -> list[dict]:
    """Poll until `done(events)`: some events are written in the background after the response."""
    deadline = time.monotonic() + timeout_s
    while True:
        events = list_events(http, stack, account, **params)
        if done(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)
