"""One request followed through the logs by its id: adding a provider key writes the gateway's
access line, keyvault's line for StoreCredential, usage's line for StartSync (and keyvault's for
usage's calls), and the backfill the request queued carries the same id into the sync worker."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from support import logs
from support.accounts import new_account
from support.usage_api import wait_for_runs

pytestmark = pytest.mark.slow  # follows one request through every service's logs and a backfill


def lines_of(stack: Any, request_id: str) -> list[dict]:
    return [record for record in logs.records(stack) if record.get("request_id") == request_id]


def wait_for_lines(stack: Any, request_id: str, done, timeout_s: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        lines = lines_of(stack, request_id)
        if done(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def rpc(lines: list[dict], service: str, method: str) -> list[dict]:
    return [
        r for r in lines if r["service"] == service and r.get("msg") == "rpc" and r["method"].endswith(method)
    ]


def test_one_request_id_follows_a_new_credential_through_every_service(stack, http, provider_fakes):
    account = new_account(stack)
    request_id = f"trace-{uuid.uuid4().hex}"
    response = http.post(
        f"{stack.base_url}/v1/credentials",
        json={"platform": "openai", "api_key": provider_fakes.openai.tenant().api_key},
        headers={**account.headers, "X-Request-ID": request_id},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == request_id
    wait_for_runs(http, stack, account, response.json()["credential"]["id"])

    lines = wait_for_lines(stack, request_id, lambda ls: any(r.get("msg") == "sync finished" for r in ls))
    access = [r for r in lines if r["logger"] == "gateway.access"]
    assert len(access) == 1
    assert access[0]["path"] == "/v1/credentials" and access[0]["status"] == 201
    assert access[0]["account_id"] == account.account_id

    # Each service's one line per RPC: who called, the outcome, and the same request id.
    store = rpc(lines, "keyvault", "/StoreCredential")
    start = rpc(lines, "usage", "/StartSync")
    lookup = rpc(lines, "keyvault", "/GetCredential")
    reveal = rpc(lines, "keyvault", "/RevealCredential")
    assert [(r["peer"], r["code"]) for r in store] == [("gateway", "OK")]
    assert [(r["peer"], r["code"]) for r in start] == [("gateway", "OK")]
    assert [(r["peer"], r["code"]) for r in lookup] == [("usage", "OK")]
    assert [(r["peer"], r["code"]) for r in reveal] == [("usage", "OK")]
    for line in store + start + lookup + reveal:
        assert line["client_ip"] == "127.0.0.1" and line["account_id"] == account.account_id

    # The backfill ran later, in a usage worker, under the id of the request that queued it.
    worker = [
        r for r in lines if r["service"] == "usage" and r.get("msg") in ("sync started", "sync finished")
    ]
    assert [r["msg"] for r in worker] == ["sync started", "sync finished"]
    assert {r["service"] for r in lines} >= {"gateway", "keyvault", "usage"}
