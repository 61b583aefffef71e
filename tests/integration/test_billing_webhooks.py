"""Stripe webhooks through the gateway (docs/security.md: billing follows Stripe), signed in the test with
the stack's test secret exactly as Stripe signs: a valid event moves the plan; a tampered body,
a stale timestamp, a wrong secret or no signature is 400 and changes nothing; a replayed event is
200 and changes nothing; a subscription event applies the subscription's current state fetched
from Stripe, so events delivered out of order (even within one second) cannot undo a later
change; unknown event types are acknowledged. Every delivery is audited, never with its payload."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from support.accounts import auth_db, new_account
from support.billing import checkout, deliver, deliver_event, plan_of, upgrade
from testkit.fakes.stripe_api import FakeStripe, sign

PROBLEM = "application/problem+json"


@pytest.fixture()
def account(stack: Any) -> Any:
    return new_account(stack)


def account_doc(mongo_uri: str, account_id: str) -> dict[str, Any]:
    with auth_db(mongo_uri) as db:
        return db["accounts"].find_one({"_id": account_id})


def audit_of(mongo_uri: str, **query: Any) -> list[dict[str, Any]]:
    with auth_db(mongo_uri) as db:
        return list(db["audit_events"].find(query).sort("at", 1))


def event_seen(mongo_uri: str, event_id: str) -> bool:
    with auth_db(mongo_uri) as db:
        return db["stripe_events"].find_one({"_id": event_id}) is not None


def denied_count(mongo_uri: str, reason: str) -> int:
    """Refused deliveries of one kind from this suite's client (one audit event counts many)."""
    query = {"action": "billing.webhook", "outcome": "denied", "details.reason": reason}
    return sum(e["details"]["count"] for e in audit_of(mongo_uri, **query))


def subscription_event(fake: FakeStripe, session_id: str, kind: str, status: str, created: int) -> dict:
    return fake.event(f"customer.subscription.{kind}", fake.subscription_of(session_id, status), created)


def test_signed_checkout_completed_upgrades_the_account(
    stack: Any, stripe_fake: FakeStripe, account: Any, mongo_uri: str
) -> None:
    session_id = checkout(stack, account)["session_id"]
    event = stripe_fake.checkout_completed(session_id)
    response = deliver_event(stack, stripe_fake, event)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "result": "applied"}
    assert plan_of(stack, account) == "professional"
    billing = account_doc(mongo_uri, account.account_id)["billing"]
    assert billing["subscription_id"] == stripe_fake.sessions[session_id]["subscription"]
    assert billing["subscription_status"] == "active"

    (changed,) = audit_of(mongo_uri, account_id=account.account_id, action="billing.plan_changed")
    assert changed["details"] == {
        "from": "free",
        "to": "professional",
        "event_type": "checkout.session.completed",
        "event_id": event["id"],
    }
    assert changed["actor"] == "stripe"
    (delivery,) = audit_of(mongo_uri, action="billing.webhook", **{"target.id": event["id"]})
    assert delivery["outcome"] == "success" and delivery["details"]["result"] == "applied"
    assert session_id not in json.dumps(delivery, default=str)  # no payload in the audit log


def test_tampered_body_is_refused_and_changes_nothing(
    stack: Any, stripe_fake: FakeStripe, account: Any, mongo_uri: str
) -> None:
    session_id = checkout(stack, account)["session_id"]
    event = stripe_fake.checkout_completed(session_id, paid=False)
    body, headers = stripe_fake.signed(event)
    tampered = body.replace(b'"payment_status": "unpaid"', b'"payment_status": "paid"')
    assert tampered != body
    before = denied_count(mongo_uri, "bad_signature")
    response = deliver(stack, tampered, headers)
    assert response.status_code == 400 and response.headers["Content-Type"] == PROBLEM
    assert "Stripe-Signature" in response.json()["detail"]
    assert plan_of(stack, account) == "free" and not event_seen(mongo_uri, event["id"])
    assert denied_count(mongo_uri, "bad_signature") == before + 1
    denied = audit_of(mongo_uri, action="billing.webhook", outcome="denied")
    assert stripe_fake.webhook_secret not in json.dumps(denied, default=str)
    assert session_id not in json.dumps(denied, default=str)

    # The genuine delivery still counts: the refused one did not use up its event id.
    assert deliver(stack, body, headers).json()["result"] == "applied"


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("stale", "stale_timestamp"),
        ("wrong_secret", "bad_signature"),
        ("missing", "no_signature"),
        ("garbled", "bad_signature"),
    ],
)
def test_bad_signatures_are_400_and_change_nothing(
    stack: Any, stripe_fake: FakeStripe, account: Any, mongo_uri: str, how: str, reason: str
) -> None:
    session_id = checkout(stack, account)["session_id"]
    event = stripe_fake.checkout_completed(session_id)
    body = json.dumps(event).encode()
    header = {
        "stale": sign(body, stripe_fake.webhook_secret, int(time.time()) - 301),
        "wrong_secret": sign(body, "whsec_someone_elses_secret"),
        "missing": None,
        "garbled": "v1=abc,t=not-a-number",
    }[how]
    headers = {"Content-Type": "application/json"} | ({"Stripe-Signature": header} if header else {})
    before = denied_count(mongo_uri, reason)
    response = deliver(stack, body, headers)
    assert response.status_code == 400 and response.headers["Content-Type"] == PROBLEM, response.text
    assert plan_of(stack, account) == "free" and not event_seen(mongo_uri, event["id"])
    assert denied_count(mongo_uri, reason) == before + 1


def test_recent_timestamps_and_rolling_secrets_are_accepted(
    stack: Any, stripe_fake: FakeStripe, account: Any
) -> None:
    session_id = checkout(stack, account)["session_id"]
    body = json.dumps(stripe_fake.checkout_completed(session_id)).encode()
    t = int(time.time()) - 240  # inside the 300-second tolerance
    old = sign(body, "whsec_the_secret_being_rolled_out", t).split(",")[1]
    current = sign(body, stripe_fake.webhook_secret, t)
    # While a secret rolls, Stripe sends one v1 signature per secret; any one may match.
    response = deliver(
        stack, body, {"Stripe-Signature": f"{current.split(',')[0]},{old},{current.split(',')[1]}"}
    )
    assert response.status_code == 200 and response.json()["result"] == "applied", response.text


def test_a_replayed_event_changes_nothing(
    stack: Any, stripe_fake: FakeStripe, account: Any, mongo_uri: str
) -> None:
    session_id = upgrade(stack, stripe_fake, account)
    completed = stripe_fake.checkout_completed(session_id, created=int(time.time()) - 60)
    # Deliver the same completed event twice, then cancel, then replay it a third time.
    first = deliver_event(stack, stripe_fake, completed)
    assert first.json()["result"] in ("applied", "stale")
    again = deliver_event(stack, stripe_fake, completed)  # a fresh signature, the same event
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    deleted = subscription_event(stripe_fake, session_id, "deleted", "canceled", int(time.time()))
    assert deliver_event(stack, stripe_fake, deleted).json()["result"] == "applied"
    assert plan_of(stack, account) == "free"
    before = account_doc(mongo_uri, account.account_id)
    changes = len(audit_of(mongo_uri, account_id=account.account_id, action="billing.plan_changed"))
    for event in (completed, deleted):
        replay = deliver_event(stack, stripe_fake, event)
        assert replay.status_code == 200 and replay.json()["result"] == "duplicate"
    assert account_doc(mongo_uri, account.account_id) == before and plan_of(stack, account) == "free"
    assert len(audit_of(mongo_uri, account_id=account.account_id, action="billing.plan_changed")) == changes


@pytest.mark.parametrize(("updated_at", "deleted_at"), [(0, 0), (5, 10)], ids=["same_second", "older"])
def test_out_of_order_subscription_events_apply_stripes_current_state(
    stack: Any, stripe_fake: FakeStripe, account: Any, mongo_uri: str, updated_at: int, deleted_at: int
) -> None:
    session_id = upgrade(stack, stripe_fake, account)
    sub_id = stripe_fake.sessions[session_id]["subscription"]
    now = int(time.time())
    # On Stripe's side the subscription is updated, then cancelled (possibly within one second,
    # which the events' `created` cannot order)...
    updated = subscription_event(stripe_fake, session_id, "updated", "active", now + updated_at)
    deleted = subscription_event(stripe_fake, session_id, "deleted", "canceled", now + deleted_at)
    # ...and the deliveries arrive the other way round.
    assert deliver_event(stack, stripe_fake, deleted).json()["result"] == "applied"
    assert plan_of(stack, account) == "free"
    fetches = len(stripe_fake.seen(f"/v1/subscriptions/{sub_id}"))
    late = deliver_event(stack, stripe_fake, updated)
    assert late.status_code == 200 and late.json()["result"] in ("applied", "stale"), late.text
    assert plan_of(stack, account) == "free"  # the late "active" payload did not restore the plan
    billing = account_doc(mongo_uri, account.account_id)["billing"]
    assert billing["subscription_status"] == "canceled" and billing["subscription_id"] == sub_id
    # The state came from Stripe's API, not from the late event's payload.
    assert len(stripe_fake.seen(f"/v1/subscriptions/{sub_id}")) == fetches + 1
    changes = audit_of(mongo_uri, account_id=account.account_id, action="billing.plan_changed")
    assert [c["details"]["to"] for c in changes] == ["professional", "free"]


def test_stripe_unreachable_while_fetching_is_503_and_the_event_is_delivered_again(
    stack: Any, stripe_fake: FakeStripe, account: Any, mongo_uri: str
) -> None:
    session_id = upgrade(stack, stripe_fake, account)
    deleted = subscription_event(stripe_fake, session_id, "deleted", "canceled", int(time.time()))
    # Every try of the SDK (3) in every attempt of the gateway's call to auth (4) fails.
    stripe_fake.failures = [500] * 12
    refused = deliver_event(stack, stripe_fake, deleted)
    stripe_fake.failures = []
    assert refused.status_code == 503 and refused.headers["Content-Type"] == PROBLEM, refused.text
    assert "Retry-After" in refused.headers
    assert plan_of(stack, account) == "professional" and not event_seen(mongo_uri, deleted["id"])
    retried = deliver_event(stack, stripe_fake, deleted)  # Stripe's next attempt
    assert retried.status_code == 200 and retried.json()["result"] == "applied", retried.text
    assert plan_of(stack, account) == "free"


def test_failed_payment_marks_past_due_and_keeps_the_plan(
    stack: Any, stripe_fake: FakeStripe, account: Any, mongo_uri: str
) -> None:
    session_id = upgrade(stack, stripe_fake, account)
    session = stripe_fake.sessions[session_id]
    failed = stripe_fake.invoice_failed(session["subscription"], session["customer"], int(time.time()) + 1)
    assert deliver_event(stack, stripe_fake, failed).json()["result"] == "applied"
    assert plan_of(stack, account) == "professional"
    assert account_doc(mongo_uri, account.account_id)["billing"]["subscription_status"] == "past_due"
    unpaid = subscription_event(stripe_fake, session_id, "updated", "unpaid", int(time.time()) + 2)
    assert deliver_event(stack, stripe_fake, unpaid).json()["result"] == "applied"
    assert plan_of(stack, account) == "free"  # Stripe gave up on the payment


def test_events_for_no_account_or_of_unknown_types_are_acknowledged(
    stack: Any, stripe_fake: FakeStripe, account: Any, mongo_uri: str
) -> None:
    upgrade(stack, stripe_fake, account)
    stranger = stripe_fake.subscription(
        "sub_nobody", "cus_nobody", "canceled", stripe_fake.prices["professional"]
    )
    for event in (
        stripe_fake.event("customer.subscription.deleted", stranger),
        stripe_fake.event("customer.created", {"id": "cus_new", "object": "customer"}),
        stripe_fake.event("charge.refunded", {"id": "ch_1", "object": "charge"}),
    ):
        response = deliver_event(stack, stripe_fake, event)
        assert response.status_code == 200 and response.json()["result"] == "ignored", response.text
    assert plan_of(stack, account) == "professional"


def test_not_an_event_is_400(stack: Any, stripe_fake: FakeStripe) -> None:
    not_utf8 = b"\xff\xfe{}"
    assert deliver(stack, not_utf8, {"Stripe-Signature": f"t={int(time.time())},v1=00"}).status_code == 400
    # Correctly signed, but not a Stripe event: not JSON, or no event id/type/created.
    for body in (b"{not json", json.dumps({"id": "x", "object": "event"}).encode()):
        response = deliver(stack, body, {"Stripe-Signature": sign(body, stripe_fake.webhook_secret)})
        assert response.status_code == 400 and "not a Stripe event" in response.json()["detail"], (
            response.text
        )
    too_big = b"{" + b" " * (600 * 1024) + b"}"
    assert (
        deliver(stack, too_big, {"Stripe-Signature": sign(too_big, stripe_fake.webhook_secret)}).status_code
        == 413
    )


def test_no_stripe_secret_or_payload_reaches_the_logs(
    stack: Any, stripe_fake: FakeStripe, account: Any
) -> None:
    session_id = upgrade(stack, stripe_fake, account)
    text = stack.log_text()
    assert stripe_fake.secret_key not in text and stripe_fake.webhook_secret not in text
    assert session_id not in text  # event payloads are never logged
    assert "Request to Stripe api" not in text  # the SDK's own request logging stays off
