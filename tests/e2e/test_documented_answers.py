"""The answers of the main endpoints, with real data behind them (synced keys of two providers,
a fired budget alert, an imported billing file, a webhook destination and its test delivery),
are exactly as /openapi.json documents them: each body is validated against its operation's
response schema. The schema-driven fuzzer (tests/integration/test_api_fuzz.py) checks answers
too, but of an account that holds nothing; here every object of every list has real fields."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from support.accounts import new_account
from support.billing import upgrade
from support.documented import assert_documented
from support.spend_data import connect_with_data
from testkit.webhook_receiver import WebhookReceiver

FIXTURES = Path(__file__).resolve().parents[2] / "services" / "parser" / "tests" / "fixtures"


@pytest.mark.slow
def test_answers_with_real_data_match_the_document(
    stack: Any, http: Any, provider_fakes: Any, stripe_fake: Any
):
    document = http.get(f"{stack.base_url}/openapi.json", timeout=30).json()
    account = new_account(stack)
    upgrade(stack, stripe_fake, account)  # webhooks, CSV export and AI parsing are Professional

    def call(method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = http.request(
            method, f"{stack.base_url}{path}", headers=account.headers, timeout=60, **kwargs
        )
        assert response.status_code == status, response.text
        return assert_documented(document, response)

    for path in ("/healthz", "/v1/status", "/v1/platforms", "/v1/billing/plans", "/v1/me", "/v1/me/sessions"):
        call("GET", path)
    budget = call(
        "POST",
        "/v1/budgets",
        201,
        json={
            "name": "OpenAI",
            "amount_usd": "1.00",
            "thresholds": [50],
            "scope": {"kind": "platform", "platform": "openai"},
        },
    )["budget"]
    assert budget["scope"] == {"kind": "platform", "platform": "openai"}
    connect_with_data(stack, http, provider_fakes, account)

    credentials = call("GET", "/v1/credentials")["items"]
    assert len(credentials) == 2
    call("GET", f"/v1/credentials/{credentials[0]['id']}")
    runs = call("GET", "/v1/sync-runs")["items"]
    assert runs and all(run["status"] in ("succeeded", "partial") for run in runs), runs
    call("GET", f"/v1/sync-runs/{runs[0]['id']}")
    every_key = "day,platform,model,source,credential_id,project,api_key"
    summary = call("GET", "/v1/usage/summary", params={"group_by": every_key, "top": 3})
    assert len(summary["groups"]) == 3 and summary["others"]["groups"] > 0
    assert "others" not in call("GET", "/v1/usage/summary", params={"group_by": "platform"})
    call("GET", "/v1/usage/month-to-date")
    records = call("GET", "/v1/usage/records", params={"limit": 500})["items"]
    assert any(record["line_items"] for record in records)
    call("GET", "/v1/usage/forecast")
    call("GET", "/v1/budgets")
    call("GET", f"/v1/budgets/{budget['id']}")

    deadline = time.monotonic() + 60  # the budget's 50% alert fires after the sync, asynchronously
    while not (alerts := call("GET", "/v1/alerts")["items"]):
        assert time.monotonic() < deadline, "no budget alert fired"
        time.sleep(0.5)
    call("POST", f"/v1/alerts/{alerts[0]['id']}/acknowledge")
    call("POST", f"/v1/alerts/{alerts[0]['id']}/mute", json={"days": 3})
    call("GET", "/v1/alert-settings")

    with WebhookReceiver() as receiver:
        destination = call(
            "POST",
            "/v1/alert-destinations",
            201,
            json={"kind": "webhook", "name": "ops", "url": receiver.url},
        )["destination"]
        call("GET", "/v1/alert-destinations")
        delivery = call("POST", f"/v1/alert-destinations/{destination['id']}/test")["delivery"]
        assert delivery["attempts"], delivery
        call("GET", f"/v1/alert-destinations/{destination['id']}/deliveries")

    files = {"file": ("cost.csv", (FIXTURES / "openai_cost.csv").read_bytes(), "text/csv")}
    upload = call("POST", "/v1/uploads", 202, files=files)["upload"]
    assert upload["records_preview"], upload
    call("POST", f"/v1/uploads/{upload['id']}/import")
    call("GET", "/v1/uploads")
    call("GET", "/v1/audit-events")
