"""Plan limits where each action happens, through the gateway: a Free account is refused a 4th
provider key, syncs older than 90 days, CSV export and AI parsing, each with a 403 problem naming
the Professional plan; after a real upgrade (Checkout + signed webhook) all of them work. A
cancellation brings the account back to Free: data stays, and the newest keys beyond the Free
limit stop their scheduled syncs, saying why on the key."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import requests
from support.accounts import new_account
from support.billing import deliver_event, plan_of, upgrade
from support.usage_api import add_credential
from testkit.fakes.stripe_api import FakeStripe

REPO_FIXTURES = "services/parser/tests/fixtures"
TODAY = dt.datetime.now(dt.UTC).date()


def call(stack: Any, account: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{stack.base_url}{path}", headers=account.headers, timeout=120, **kwargs)


def assert_plan_required(response: requests.Response, *phrases: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/plan-required") and "Professional plan" in body["detail"]
    for phrase in phrases:
        assert phrase in body["detail"], body["detail"]


def new_key(http: Any, stack: Any, account: Any, provider_fakes: Any) -> requests.Response:
    key = provider_fakes.openai.tenant().api_key
    return call(stack, account, "POST", "/v1/credentials", json={"platform": "openai", "api_key": key})


def upload_pdf(stack: Any, account: Any) -> requests.Response:
    with open(f"{REPO_FIXTURES}/invoice.pdf", "rb") as pdf:
        return call(
            stack, account, "POST", "/v1/uploads", files={"file": ("invoice.pdf", pdf, "application/pdf")}
        )


@pytest.fixture(scope="module")
def keys_account(stack: Any, provider_fakes: Any) -> Any:
    """A Free account holding its 3 keys (their backfills may still run: nothing here waits)."""
    account = new_account(stack)
    for _ in range(3):
        add_credential(requests, stack, account, "openai", provider_fakes.openai.tenant().api_key)
    return account


def test_free_then_professional_at_every_gate(
    stack: Any, stripe_fake: FakeStripe, provider_fakes: Any, keys_account: Any
) -> None:
    account = keys_account
    fourth = new_key(requests, stack, account, provider_fakes)
    assert_plan_required(fourth, "more than 3 provider keys")
    assert fourth.json()["required_plan"] == "professional" and fourth.json()["plan"] == "free"
    assert len(call(stack, account, "GET", "/v1/credentials").json()["items"]) == 3  # nothing stored

    credential_id = call(stack, account, "GET", "/v1/credentials").json()["items"][0]["id"]
    old = (TODAY - dt.timedelta(days=120)).isoformat()
    assert_plan_required(
        call(stack, account, "POST", f"/v1/credentials/{credential_id}/sync", json={"from": old}),
        "more than 90 days back",
    )
    assert_plan_required(
        call(stack, account, "GET", "/v1/usage/export", params={"format": "csv"}), "CSV export"
    )
    assert_plan_required(upload_pdf(stack, account), "AI parsing")

    upgrade(stack, stripe_fake, account)
    assert plan_of(stack, account) == "professional"
    added = new_key(requests, stack, account, provider_fakes)
    assert added.status_code == 201, added.text
    assert added.json()["sync_run"]["days_total"] == 365  # Professional backfills a year
    synced = call(stack, account, "POST", f"/v1/credentials/{credential_id}/sync", json={"from": old})
    assert synced.status_code == 202 and synced.json()["sync_run"]["days_total"] == 121, synced.text
    export = call(stack, account, "GET", "/v1/usage/export", params={"format": "csv"})
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    # Past the plan gate: the session stack's parser has no OpenAI key (test_billing_flow reads
    # a PDF with OpenAI for real).
    refused = upload_pdf(stack, account)
    assert refused.status_code == 422 and refused.json()["type"].endswith("/ai-not-configured"), refused.text


def wait_for_listing(stack: Any, account: Any, done: Any, timeout_s: float = 30) -> dict[str, dict]:
    """GET /v1/credentials (by id) until `done(listed)` holds."""
    deadline = time.monotonic() + timeout_s
    while True:
        listed = {c["id"]: c for c in call(stack, account, "GET", "/v1/credentials").json()["items"]}
        if done(listed) or time.monotonic() > deadline:
            assert done(listed), listed
            return listed
        time.sleep(0.2)


def test_downgrade_pauses_the_newest_keys_with_a_message(
    stack: Any, stripe_fake: FakeStripe, provider_fakes: Any
) -> None:
    account = new_account(stack)
    session_id = upgrade(stack, stripe_fake, account)
    ids = []
    for _ in range(4):
        credential = add_credential(
            requests, stack, account, "openai", provider_fakes.openai.tenant().api_key
        )
        ids.append(credential["id"])  # one after another: ids[0] is the oldest

    cancelled = stripe_fake.event(
        "customer.subscription.deleted", stripe_fake.subscription_of(session_id, "canceled")
    )
    assert deliver_event(stack, stripe_fake, cancelled).json()["result"] == "applied"
    assert plan_of(stack, account) == "free"

    # usage applies the plan from auth's plan changes (its reconciler), within a moment.
    listed = wait_for_listing(
        stack,
        account,
        lambda listed: "Scheduled syncs of this key are paused" in (listed[ids[3]]["status_message"] or ""),
    )
    assert len(listed) == 4  # the data stays
    assert [listed[i]["status_message"] for i in ids[:3]] == [None, None, None]
    assert listed[ids[3]]["status"] == "active"
    assert_plan_required(call(stack, account, "POST", f"/v1/credentials/{ids[3]}/sync", json={}), "paused")
    assert call(stack, account, "POST", f"/v1/credentials/{ids[0]}/sync", json={}).status_code == 202

    upgrade(stack, stripe_fake, account)  # subscribing again resumes it
    wait_for_listing(stack, account, lambda listed: listed[ids[3]]["status_message"] is None)
    assert call(stack, account, "POST", f"/v1/credentials/{ids[3]}/sync", json={}).status_code == 202
