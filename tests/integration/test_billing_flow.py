"""The whole paid path, as a customer lives it: a Free account is refused AI parsing, upgrades
through a Stripe Checkout Session and Stripe's signed checkout.session.completed webhook, reads a
PDF invoice with OpenAI (the real SDK against the OpenAI fake), and is back on Free, refused
again, after a signed customer.subscription.deleted.

The AI-enabled parser and gateway come from test_uploads_ai's fixture (the session stack's
parser has no OpenAI settings); they share the session stack's auth, usage and Stripe fake."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import requests
from integration.test_uploads_ai import ai_gateway, fake, upload_pdf  # noqa: F401 (fixtures)
from support.accounts import new_account
from support.billing import deliver_event, plan_of
from testkit.fakes.openai_compat import FakeOpenAICompat, charge
from testkit.fakes.stripe_api import FakeStripe


def test_upgrade_unlocks_ai_parsing_and_cancelling_locks_it_again(
    ai_gateway: Any,  # noqa: F811
    fake: FakeOpenAICompat,  # noqa: F811
    stack: Any,
    stripe_fake: FakeStripe,
) -> None:
    account = new_account(stack)
    refused = upload_pdf(ai_gateway, account, "invoice.pdf")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/plan-required")
    assert fake.calls == []

    checkout = requests.post(
        f"{ai_gateway.base_url}/v1/billing/checkout",
        json={"plan": "professional"},
        headers=account.headers,
        timeout=60,
    )
    assert checkout.status_code == 200, checkout.text
    session_id = checkout.json()["session_id"]
    assert checkout.json()["url"].startswith("https://checkout.stripe.com/")
    # The customer pays on Stripe's page; Stripe tells us with a signed webhook.
    paid = deliver_event(ai_gateway, stripe_fake, stripe_fake.checkout_completed(session_id))
    assert paid.status_code == 200 and paid.json()["result"] == "applied", paid.text
    assert plan_of(ai_gateway, account) == "professional"

    fake.reply_records([charge("2025-06-01", "gpt-4o", "10.00"), charge("2025-06-01", "o3", "2.50")])
    parsed = upload_pdf(ai_gateway, account, "invoice.pdf")
    assert parsed.status_code == 202, parsed.text
    upload = parsed.json()["upload"]
    assert upload["parser"] == "openai_extraction" and Decimal(upload["total_cost_usd"]) == Decimal("12.50")
    assert len(fake.calls) == 1

    subscription = stripe_fake.subscription_of(session_id, "canceled")
    cancelled = stripe_fake.event("customer.subscription.deleted", subscription, int(time.time()))
    assert deliver_event(ai_gateway, stripe_fake, cancelled).json()["result"] == "applied"
    assert plan_of(ai_gateway, account) == "free"
    again = upload_pdf(ai_gateway, account, "invoice.pdf")
    assert again.status_code == 403 and "Professional plan" in again.json()["detail"]
    assert len(fake.calls) == 1  # OpenAI was not asked again
    listed = requests.get(f"{ai_gateway.base_url}/v1/uploads", headers=account.headers, timeout=30)
    assert [u["id"] for u in listed.json()["items"]] == [upload["id"]]  # the data stays
