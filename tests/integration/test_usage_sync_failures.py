"""Sync failures the user must understand: a refused key marks the credential invalid with a
message they can act on; a provider outage gives a failed run and keeps earlier data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from support.accounts import new_account
from support.usage_api import add_credential, sync_and_wait, wait_for_runs

TODAY = dt.datetime.now(dt.UTC).date()


def summary_total(http: Any, stack: Any, account: Any) -> Decimal:
    response = http.get(f"{stack.base_url}/v1/usage/summary", headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return Decimal(response.json()["total_cost_usd"])


def test_refused_key_marks_the_credential_invalid(stack: Any, http: Any, provider_fakes: Any) -> None:
    account = new_account(stack)
    tenant = provider_fakes.openai.tenant()
    tenant.fail(401, times=None, body=tenant.error_body(401, f"Incorrect API key provided: {tenant.api_key}"))
    credential = add_credential(http, stack, account, "openai", tenant.api_key)

    run = sync_and_wait(http, stack, account, credential["id"])
    assert run["status"] == "failed"
    assert "admin key" in run["error"].lower() and "platform.openai.com" in run["error"]
    assert tenant.api_key not in str(run)

    shown = http.get(
        f"{stack.base_url}/v1/credentials/{credential['id']}", headers=account.headers, timeout=30
    )
    assert shown.status_code == 200
    assert shown.json()["credential"]["status"] == "invalid"
    assert "Admin key" in shown.json()["credential"]["status_message"]
    log = stack.log_text()
    assert "sync crashed" not in log and tenant.api_key not in log


def test_provider_outage_fails_the_run_and_keeps_earlier_data(
    stack: Any, http: Any, provider_fakes: Any
) -> None:
    account = new_account(stack)
    tenant = provider_fakes.anthropic.tenant()
    tenant.load_costs([{"date": TODAY - dt.timedelta(days=4), "model": "claude-opus-5", "amount": "1234.5"}])
    credential = add_credential(http, stack, account, "anthropic", tenant.api_key)
    assert sync_and_wait(http, stack, account, credential["id"])["status"] == "succeeded"
    assert summary_total(http, stack, account) == Decimal("12.345")

    tenant.unavailable()
    run = sync_and_wait(http, stack, account, credential["id"])
    assert run["status"] == "failed"
    assert "Anthropic is not answering (HTTP 503" in run["error"] and "kept" in run["error"]
    assert len(run["failed_days"]) == run["days_total"] == 30 and run["days"] == 0
    assert summary_total(http, stack, account) == Decimal("12.345")  # earlier data intact
    shown = http.get(
        f"{stack.base_url}/v1/credentials/{credential['id']}", headers=account.headers, timeout=30
    )
    assert shown.json()["credential"]["status"] == "active"  # an outage is not the key's fault


def test_unknown_shape_fails_only_that_day(stack: Any, http: Any, provider_fakes: Any) -> None:
    account = new_account(stack)
    tenant = provider_fakes.openai.tenant()
    good, bad = TODAY - dt.timedelta(days=3), TODAY - dt.timedelta(days=2)
    tenant.load_costs([{"date": good, "amount": "2.00", "line_item": "gpt-4o, input"}])
    tenant.load_costs([{"date": bad, "result": {"object": "organization.costs.result", "cost": "9.99"}}])
    credential = add_credential(http, stack, account, "openai", tenant.api_key)
    run = sync_and_wait(http, stack, account, credential["id"], **{"from": good.isoformat()})
    assert run["status"] == "partial"
    assert [f["date"] for f in run["failed_days"]] == [bad.isoformat()]
    assert "shape" in run["failed_days"][0]["error"]
    assert summary_total(http, stack, account) == Decimal("2.00")  # the bad day is not a silent zero


def test_openrouter_backfill_names_the_days_it_cannot_give(
    stack: Any, http: Any, provider_fakes: Any
) -> None:
    """OpenRouter serves only the last 30 completed UTC days (its fake answers 400 outside them): a
    new key's 90-day backfill succeeds, and the run and the key say which days are missing and why."""
    account = new_account(stack)
    tenant = provider_fakes.openrouter.tenant()
    tenant.load_activity(
        [{"date": (TODAY - dt.timedelta(days=2)).isoformat(), "model": "x/y", "usage": "0.5"}]
    )
    credential = add_credential(http, stack, account, "openrouter", tenant.api_key)
    [run] = wait_for_runs(http, stack, account, credential["id"])  # the new key's backfill

    assert run["status"] == "succeeded" and run["failed_days"] == [] and run["error"] is None
    old, today = run["unavailable_days"]
    assert old["to"] == (TODAY - dt.timedelta(days=31)).isoformat() and "30 completed" in old["reason"]
    assert today["from"] == today["to"] == TODAY.isoformat()
    assert "not failures" in run["notice"]
    assert summary_total(http, stack, account) == Decimal("0.5")
    assert all(
        TODAY - dt.timedelta(days=30) <= dt.date.fromisoformat(c.param("date")) < TODAY
        for c in tenant.calls("/activity")
    )
    shown = http.get(
        f"{stack.base_url}/v1/credentials/{credential['id']}", headers=account.headers, timeout=30
    ).json()["credential"]
    assert shown["status"] == "active" and old["to"] in shown["status_message"]
