"""Budgets and alerts through the gateway, as the issue's user would see them: a $100 budget with
50/80/100% thresholds, the fake OpenAI's bill crossing 80%, exactly one email and one signed
webhook per threshold (none again on a repeated sync), then 100% crossed by a later bill; refused
webhook addresses; alert history with acknowledge and mute; every change in the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import time
from decimal import Decimal
from typing import Any

import pytest
from pymongo import MongoClient
from support.accounts import new_account
from support.audit import wait_for_events
from support.billing import upgrade
from support.outbox import messages, wait_for
from support.usage_api import add_credential, sync_and_wait, wait_for_runs
from testkit.waiting import wait_until
from testkit.webhook_receiver import WebhookReceiver

TODAY = dt.datetime.now(dt.UTC).date()


def _post(http: Any, stack: Any, account: Any, path: str, body: dict | None = None, status: int = 200) -> Any:
    response = http.post(f"{stack.base_url}{path}", json=body, headers=account.headers, timeout=30)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _get(http: Any, stack: Any, account: Any, path: str, **params: Any) -> Any:
    response = http.get(f"{stack.base_url}{path}", params=params, headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _verify(secret: str, header: str, body: bytes) -> bool:
    """What a customer's receiver does (docs/alerts.md): HMAC-SHA256 over "<t>.<body>"."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def _budget_mails(stack: Any, account: Any) -> list[str]:
    return sorted(m.subject for m in messages(stack, account.email) if "Budget" in m.subject)


def _alerts_quiet(mongo_uri: str, account_id: str) -> bool:
    """Usage has nothing left to do for the account: no alert evaluation due or running, and no
    delivery pending (read from usage's own collections in the session database)."""
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    try:
        db = client["aicosts_usage"]
        evaluation = db["alert_evaluations"].find_one({"_id": account_id}) or {}
        pending = db["alert_deliveries"].count_documents({"account_id": account_id, "status": "pending"})
    finally:
        client.close()
    return evaluation.get("due_at") is None and evaluation.get("lease_owner") is None and pending == 0


def _deliveries(mongo_uri: str, account_id: str) -> int:
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    try:
        return client["aicosts_usage"]["alert_deliveries"].count_documents({"account_id": account_id})
    finally:
        client.close()


def _settle(
    stack: Any, mongo_uri: str, account: Any, receiver: WebhookReceiver, mails: int, hooks: int
) -> None:
    """Wait for the expected count, then until usage is quiet: an extra alert would have been
    evaluated and its deliveries sent by then, so the counts the caller asserts are final."""
    wait_for(stack, account.email, "Budget", count=mails, timeout_s=60)
    receiver.wait_for(hooks, timeout_s=60)
    wait_until(
        lambda: _alerts_quiet(mongo_uri, account.account_id), 60, 0.2, "usage to finish its alert work"
    )
    assert _deliveries(mongo_uri, account.account_id) == mails + hooks


@pytest.mark.slow
def test_budget_thresholds_fire_once_each_by_email_and_signed_webhook(
    stack: Any, mongo_uri: str, http: Any, provider_fakes: Any, stripe_fake: Any
) -> None:
    account = new_account(stack)
    upgrade(stack, stripe_fake, account)  # webhooks are Professional
    with WebhookReceiver() as receiver:
        created = _post(
            http,
            stack,
            account,
            "/v1/alert-destinations",
            {"kind": "webhook", "name": "ops", "url": receiver.url},
            201,
        )
        secret = created["signing_secret"]
        assert (
            secret.startswith("whsec_")
            and created["destination"]["target"]
            == "http://127.0.0.1:" + receiver.url.split(":")[2].split("/")[0] + "/…"
        )
        listed = _get(http, stack, account, "/v1/alert-destinations")["items"]
        assert "signing_secret" not in json.dumps(listed) and secret not in json.dumps(listed)
        budget = _post(
            http,
            stack,
            account,
            "/v1/budgets",
            {
                "name": "AI total",
                "amount_usd": "100.00",
                "thresholds": [50, 80, 100],
                "destination_ids": [created["destination"]["id"]],
            },
            201,
        )["budget"]
        assert budget["status"]["spent_usd"] == "0.00" and budget["email_owner"] is True

        openai = provider_fakes.openai.tenant()
        openai.load_costs([{"date": TODAY, "amount": "84.99", "line_item": "gpt-4o, input"}])
        credential = add_credential(http, stack, account, "openai", openai.api_key)
        wait_for_runs(http, stack, account, credential["id"])
        _settle(stack, mongo_uri, account, receiver, mails=2, hooks=2)
        assert _budget_mails(stack, account) == [
            "[AICosts] Budget 'AI total' at 50%",
            "[AICosts] Budget 'AI total' at 80%",
        ]
        assert len(receiver.received) == 2
        for hook in receiver.received:
            assert _verify(secret, hook.headers["AICosts-Signature"], hook.body)
            assert not _verify("whsec_wrong", hook.headers["AICosts-Signature"], hook.body)
        fired = sorted(json.loads(h.body)["alert"]["threshold"] for h in receiver.received)
        assert fired == [50, 80]
        mail = wait_for(stack, account.email, "at 80%")[0]
        assert "$84.99 of $100.00" in mail.text and "/alerts" in mail.text

        sync_and_wait(http, stack, account, credential["id"])  # the same bill again: nothing new
        _settle(stack, mongo_uri, account, receiver, mails=2, hooks=2)
        assert len(_budget_mails(stack, account)) == 2 and len(receiver.received) == 2

        openai.load_costs([{"date": TODAY, "amount": "15.01", "line_item": "o3, output"}])
        sync_and_wait(http, stack, account, credential["id"])  # now $100.00: 100% crossed
        _settle(stack, mongo_uri, account, receiver, mails=3, hooks=3)
        assert _budget_mails(stack, account)[
            -1
        ] == "[AICosts] Budget 'AI total' at 100%" or "at 100%" in " ".join(_budget_mails(stack, account))
        assert len(_budget_mails(stack, account)) == 3 and len(receiver.received) == 3
        assert json.loads(receiver.received[-1].body)["alert"]["threshold"] == 100

        budget = _get(http, stack, account, f"/v1/budgets/{budget['id']}")["budget"]
        assert Decimal(budget["status"]["spent_usd"]) == Decimal("100.00")
        assert budget["status"]["crossed"] == [50, 80, 100] and budget["status"]["percent_used"] == "100.0"

        # History, acknowledge, mute.
        alerts = _get(http, stack, account, "/v1/alerts")["items"]
        assert [a["threshold"] for a in alerts] == [100, 80, 50]  # newest first
        assert all(a["deliveries"] == "delivered" for a in alerts)
        acked = _post(http, stack, account, f"/v1/alerts/{alerts[0]['id']}/acknowledge")["alert"]
        assert acked["acknowledged_at"] is not None
        open_ones = _get(http, stack, account, "/v1/alerts", unacknowledged="true")["items"]
        assert [a["id"] for a in open_ones] == [alerts[1]["id"], alerts[2]["id"]]
        muted = _post(http, stack, account, f"/v1/alerts/{alerts[1]['id']}/mute", {"days": 7})
        assert muted["muted_until"] > dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        # The destination's delivery log has the status codes.
        log = _get(http, stack, account, f"/v1/alert-destinations/{created['destination']['id']}/deliveries")
        assert len(log["items"]) == 3
        assert all(
            d["status"] == "delivered" and d["attempts"][0]["status_code"] == 200 for d in log["items"]
        )

    events = wait_for_events(
        http,
        stack,
        account,
        lambda evs: sum(e["action"] == "alert.delivered" for e in evs) >= 6,
    )
    actions = [e["action"] for e in events]
    for action in (
        "budget.created",
        "alert_destination.created",
        "alert.fired",
        "alert.acknowledged",
        "alert.muted",
    ):
        assert action in actions, action
    assert actions.count("alert.fired") == 3
    assert actions.count("alert.delivered") == 6  # three emails, three webhooks


def _private_name() -> str:
    """A name this machine resolves to a non-public address (its own host name, or localhost's alias)."""
    for name in (socket.gethostname(), "localhost.localdomain"):
        try:
            if socket.getaddrinfo(name, 443):
                return name
        except OSError:
            continue
    pytest.fail("no local name resolves here")


@pytest.mark.slow
def test_refused_webhook_addresses_are_clear_400s(stack: Any, http: Any, stripe_fake: Any) -> None:
    account = new_account(stack)
    upgrade(stack, stripe_fake, account)
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/",
        "https://10.0.0.1/hook",
        "https://localhost/hook",
        f"https://{_private_name()}/hook",
        "https://[::1]/hook",
        "ftp://example.com/hook",
    ):
        response = http.post(
            f"{stack.base_url}/v1/alert-destinations",
            json={"kind": "webhook", "name": "x", "url": url},
            headers=account.headers,
            timeout=30,
        )
        assert response.status_code == 400, (url, response.text)
        problem = response.json()
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert problem["errors"][0]["field"] == "url" and "refused" in problem["detail"], problem
    assert _get(http, stack, account, "/v1/alert-destinations")["items"] == []


@pytest.mark.slow
def test_free_plan_gets_one_budget_and_email_only(stack: Any, http: Any) -> None:
    account = new_account(stack)
    _post(http, stack, account, "/v1/budgets", {"name": "one", "amount_usd": "10"}, 201)
    second = http.post(
        f"{stack.base_url}/v1/budgets",
        json={"name": "two", "amount_usd": "10"},
        headers=account.headers,
        timeout=30,
    )
    assert second.status_code == 403 and second.json()["type"].endswith("/plan-required"), second.text
    hook = http.post(
        f"{stack.base_url}/v1/alert-destinations",
        json={"kind": "webhook", "name": "x", "url": "https://example.com/hook"},
        headers=account.headers,
        timeout=30,
    )
    assert hook.status_code == 403 and "Professional" in hook.json()["detail"], hook.text
    anomalies = http.put(
        f"{stack.base_url}/v1/alert-settings",
        json={"anomalies_enabled": True},
        headers=account.headers,
        timeout=30,
    )
    assert anomalies.status_code == 403 and anomalies.json()["type"].endswith("/plan-required"), (
        anomalies.text
    )
