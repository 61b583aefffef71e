"""Plans and payments for stack tests, the way they happen for real: a Checkout Session from the
gateway (auth → the Stripe fake), then Stripe's signed webhook delivered to the gateway."""

from __future__ import annotations

from typing import Any

import requests
from testkit.fakes.stripe_api import FakeStripe


def checkout(stack: Any, account: Any, plan: str = "professional") -> dict[str, Any]:
    response = requests.post(
        f"{stack.base_url}/v1/billing/checkout", json={"plan": plan}, headers=account.headers, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def deliver(stack: Any, body: bytes, headers: dict[str, str]) -> requests.Response:
    """POST one webhook delivery to the gateway, exactly these bytes and headers."""
    return requests.post(f"{stack.base_url}/v1/webhooks/stripe", data=body, headers=headers, timeout=30)


def deliver_event(stack: Any, fake: FakeStripe, event: dict[str, Any], **sign: Any) -> requests.Response:
    return deliver(stack, *fake.signed(event, **sign))


def upgrade(stack: Any, fake: FakeStripe, account: Any) -> str:
    """Checkout + a signed checkout.session.completed; returns the Checkout Session id."""
    session_id = checkout(stack, account)["session_id"]
    response = deliver_event(stack, fake, fake.checkout_completed(session_id))
    assert response.status_code == 200 and response.json()["result"] == "applied", response.text
    return session_id


def plan_of(stack: Any, account: Any) -> str:
    response = requests.get(f"{stack.base_url}/v1/me", headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["account"]["plan"]
