"""Plans and payments through the gateway, with auth's real Stripe SDK calls answered by the fake
Stripe API: the plan catalog, Checkout (a subscription; the account's customer created once and
remembered), the customer portal, input problems, and a Stripe outage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests
from support.accounts import auth_db, new_account
from support.billing import checkout, upgrade
from svccommon.plans import PLANS
from testkit.fakes.stripe_api import FakeStripe

PROBLEM = "application/problem+json"


def post(stack: Any, path: str, account: Any | None = None, **kwargs: Any) -> requests.Response:
    headers = account.headers if account is not None else {}
    return requests.post(f"{stack.base_url}{path}", headers=headers, timeout=60, **kwargs)


def test_plans_are_listed_for_everyone(stack: Any) -> None:
    response = requests.get(f"{stack.base_url}/v1/billing/plans", timeout=10)
    assert response.status_code == 200
    items = {p["id"]: p for p in response.json()["items"]}
    assert list(items) == ["free", "professional"]
    free, pro = items["free"], items["professional"]
    assert Decimal(free["price_usd_month"]) == 0 and isinstance(pro["price_usd_month"], str)
    assert Decimal(pro["price_usd_month"]) == PLANS["professional"].price_usd_month > 0
    assert (free["max_credentials"], free["history_days"], free["ai_parsing"], free["csv_export"]) == (
        3,
        90,
        False,
        False,
    )
    assert (pro["max_credentials"], pro["history_days"], pro["ai_parsing"], pro["csv_export"]) == (
        None,
        365,
        True,
        True,
    )
    assert all(isinstance(f, str) and f for p in items.values() for f in p["features"])


def test_checkout_is_a_stripe_subscription_session_for_one_remembered_customer(
    stack: Any, stripe_fake: FakeStripe, mongo_uri: str
) -> None:
    account = new_account(stack)
    first, second = checkout(stack, account), checkout(stack, account)
    for session in (first, second):
        assert session["url"] == f"https://checkout.stripe.com/c/pay/{session['session_id']}"
        assert session["session_id"].startswith("cs_test_")
    mine = [
        c for c in stripe_fake.customers.values() if c["metadata"].get("account_id") == account.account_id
    ]
    assert len(mine) == 1 and mine[0]["email"] == account.email  # created once, then remembered
    sent = [
        r.params for r in stripe_fake.seen("/v1/checkout/sessions") if r.params["customer"] == mine[0]["id"]
    ]
    assert len(sent) == 2
    assert sent[0]["mode"] == "subscription" and sent[0]["client_reference_id"] == account.account_id
    assert sent[0]["line_items[0][price]"] == stripe_fake.prices["professional"]
    assert "/settings?checkout=success&session_id={CHECKOUT_SESSION_ID}" in sent[0]["success_url"]
    assert sent[0]["cancel_url"].endswith("/settings?checkout=cancelled")
    with auth_db(mongo_uri) as db:
        stored = db["accounts"].find_one({"_id": account.account_id})
        assert stored["billing"]["stripe_customer_id"] == mine[0]["id"]
        assert stored["plan"] == "free"  # paying is what changes the plan, not starting to
        actions = [e["action"] for e in db["audit_events"].find({"account_id": account.account_id})]
    assert actions.count("billing.checkout_started") == 2 and actions.count("billing.customer_created") == 1


def test_portal_needs_a_customer_first(stack: Any, stripe_fake: FakeStripe) -> None:
    account = new_account(stack)
    early = post(stack, "/v1/billing/portal", account)
    assert early.status_code == 422 and early.headers["Content-Type"] == PROBLEM
    assert "no subscription to manage" in early.json()["detail"]
    checkout(stack, account)
    portal = post(stack, "/v1/billing/portal", account)
    assert portal.status_code == 200, portal.text
    assert portal.json()["url"].startswith("https://billing.stripe.com/p/session/")
    assert (
        stripe_fake.seen("/v1/billing_portal/sessions")[-1]
        .params["return_url"]
        .endswith("/settings?billing=portal")
    )


def test_checkout_input_problems(stack: Any) -> None:
    account = new_account(stack)
    for body, field in (
        ({"plan": "free"}, "plan"),
        ({"plan": "gold"}, "plan"),
        ({}, "plan"),
        ({"plan": 7}, "plan"),
    ):
        response = post(stack, "/v1/billing/checkout", account, json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]]
    assert post(stack, "/v1/billing/checkout", account, data="plan=professional").status_code == 415
    for path in ("/v1/billing/checkout", "/v1/billing/portal"):
        assert post(stack, path, json={"plan": "professional"}).status_code == 401


def test_already_professional_cannot_check_out_again(stack: Any, stripe_fake: FakeStripe) -> None:
    account = new_account(stack)
    upgrade(stack, stripe_fake, account)
    again = post(stack, "/v1/billing/checkout", account, json={"plan": "professional"})
    assert again.status_code == 422 and "already on the Professional plan" in again.json()["detail"]


def test_stripe_outage_is_a_503_without_stripes_words(stack: Any, stripe_fake: FakeStripe) -> None:
    account = new_account(stack)
    stripe_fake.failures = [500, 500, 500]  # the SDK's first try and its two retries
    try:
        response = post(stack, "/v1/billing/checkout", account, json={"plan": "professional"})
    finally:
        stripe_fake.failures = []
    assert response.status_code == 503 and response.headers["Content-Type"] == PROBLEM
    assert "Stripe's end" not in response.text and stripe_fake.secret_key not in response.text
    assert response.headers["Retry-After"]
