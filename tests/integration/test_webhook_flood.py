"""Unauthenticated floods of the Stripe webhook endpoint: repeated identical failures from one
client network within a window are one audit event that counts them (not one event each), and
past AUTH_WEBHOOK_MAX_FAILURES failures the network gets 429 with Retry-After until the window
ends, while Stripe's genuine deliveries from elsewhere go on being applied.

Each test floods from its own random loopback network (127.a.b.0/24), so the limits it reaches
stay away from the rest of the suite, which connects from 127.0.0.1."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from support.accounts import auth_db, new_account, random_loopback_ip, session_from
from support.billing import checkout, plan_of
from testkit.fakes.stripe_api import FakeStripe, sign

PROBLEM = "application/problem+json"
LIMIT = 30  # AUTH_WEBHOOK_MAX_FAILURES, default (the session stack sets none)
WINDOW_S = 60  # AUTH_WEBHOOK_FAILURE_WINDOW_SECONDS, default


def network_of(ip: str) -> str:
    return ip.rsplit(".", 1)[0] + ".0/24"


def fresh_window(needed_s: float = 20.0) -> int:
    """The current failure window, first waiting for the next one if fewer than `needed_s`
    seconds of it are left, so one test's failures all fall into one window."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < needed_s:
        time.sleep(left + 0.1)
    return int(time.time() // WINDOW_S)


def bad_delivery(fake: FakeStripe) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(fake.event("customer.created", {"id": "cus_flood", "object": "customer"})).encode()
    return body, {"Stripe-Signature": sign(body, "whsec_not_this_endpoints_secret")}


def post(client: requests.Session, stack: Any, body: bytes, headers: dict[str, str]) -> requests.Response:
    return client.post(f"{stack.base_url}/v1/webhooks/stripe", data=body, headers=headers, timeout=30)


def denied_events(mongo_uri: str, network: str) -> list[dict[str, Any]]:
    with auth_db(mongo_uri) as db:
        query = {"action": "billing.webhook", "outcome": "denied", "details.network": network}
        return list(db["audit_events"].find(query).sort("at", 1))


@pytest.fixture()
def flooder() -> Any:
    ip = random_loopback_ip()
    client = session_from(ip)
    yield ip, client
    client.close()


def test_repeated_bad_signatures_are_one_counted_audit_event_then_429(
    stack: Any, stripe_fake: FakeStripe, mongo_uri: str, flooder: Any
) -> None:
    ip, client = flooder
    body, headers = bad_delivery(stripe_fake)
    window = fresh_window()
    statuses = [post(client, stack, body, headers).status_code for _ in range(LIMIT + 5)]
    assert statuses == [400] * LIMIT + [429] * 5

    limited = post(client, stack, body, headers)
    assert limited.status_code == 429 and limited.headers["Content-Type"] == PROBLEM, limited.text
    assert 1 <= int(limited.headers["Retry-After"]) <= WINDOW_S
    assert "Stripe-Signature" not in limited.text  # a throttled caller learns nothing about its request
    assert int(time.time() // WINDOW_S) == window  # (fresh_window left enough time)

    events = denied_events(mongo_uri, network_of(ip))
    counts = {e["details"]["reason"]: e["details"]["count"] for e in events}
    assert counts == {"bad_signature": LIMIT, "rate_limited": 6}, events
    assert len(events) == 2  # one event per kind, not one per request
    first = events[0]
    assert first["actor"] == "anonymous" and first["ip"] == ip and first["service"] == "auth"
    assert first["details"]["window_seconds"] == WINDOW_S
    assert first["details"]["last_at"] >= first["at"]
    assert stripe_fake.webhook_secret not in json.dumps(events, default=str)


def test_one_clients_flood_does_not_hold_up_stripes_deliveries(
    stack: Any, stripe_fake: FakeStripe, mongo_uri: str, flooder: Any
) -> None:
    ip, client = flooder
    account = new_account(stack)
    session_id = checkout(stack, account)["session_id"]
    fresh_window()
    body, headers = bad_delivery(stripe_fake)
    for _ in range(LIMIT):
        post(client, stack, body, headers)
    assert post(client, stack, body, headers).status_code == 429

    # Another address of the same /24 is the same client network: limited too.
    neighbour_ip = ip.rsplit(".", 1)[0] + (".9" if not ip.endswith(".9") else ".10")
    with session_from(neighbour_ip) as neighbour:
        assert post(neighbour, stack, body, headers).status_code == 429

    # Stripe delivers from its own network: a genuine event is applied as usual.
    genuine = stripe_fake.signed(stripe_fake.checkout_completed(session_id))
    with requests.Session() as stripe_client:
        delivered = post(stripe_client, stack, *genuine)
    assert delivered.status_code == 200 and delivered.json()["result"] == "applied", delivered.text
    assert plan_of(stack, account) == "professional"
