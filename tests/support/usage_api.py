"""Usage helpers for stack tests: connect a provider key, sync it, wait for its runs."""

from __future__ import annotations

import time
from typing import Any

import requests

FINISHED = ("succeeded", "partial", "failed")


def add_credential(http: requests.Session, stack: Any, account: Any, platform: str, api_key: str) -> dict:
    response = http.post(
        f"{stack.base_url}/v1/credentials",
        json={"platform": platform, "api_key": api_key, "label": f"{platform} test key"},
        headers=account.headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["credential"]


def start_sync(http: requests.Session, stack: Any, account: Any, credential_id: str, **body: str) -> dict:
    response = http.post(
        f"{stack.base_url}/v1/credentials/{credential_id}/sync",
        json=body,
        headers=account.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()["sync_run"]


def runs_of(http: requests.Session, stack: Any, account: Any, credential_id: str) -> list[dict]:
    response = http.get(
        f"{stack.base_url}/v1/sync-runs",
        params={"credential_id": credential_id},
        headers=account.headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def wait_for_runs(
    http: requests.Session, stack: Any, account: Any, credential_id: str, timeout_s: float = 90
) -> list[dict]:
    """Every run of the credential (a new key's backfill included) once none is queued or running."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = runs_of(http, stack, account, credential_id)
        if runs and all(r["status"] in FINISHED for r in runs):
            return runs
        assert time.monotonic() < deadline, f"sync runs did not finish: {runs}"
        time.sleep(0.2)


def sync_and_wait(http: requests.Session, stack: Any, account: Any, credential_id: str, **body: str) -> dict:
    run = start_sync(http, stack, account, credential_id, **body)
    wait_for_runs(http, stack, account, credential_id)
    response = http.get(f"{stack.base_url}/v1/sync-runs/{run['id']}", headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["sync_run"]
