"""Which subscription each Stripe event is about and what a subscription's state means for a
plan (pure), and the SDK calls auth makes, against the fake Stripe API on loopback: a
subscription's current state is read from Stripe; the customer is created once (idempotency
key), Checkout is a subscription for the configured price with the account in its metadata, and
Stripe failures become a clear UNAVAILABLE without Stripe's message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from auth.stripe_api import UNAVAILABLE, StripeApi
from auth.stripe_config import load_stripe
from auth.stripe_events import Subject, change_of, subject
from svccommon.errors import Unavailable
from testkit.fakes.stripe_api import PRICE_PROFESSIONAL, FakeStripe

ACCOUNT = "a" * 32


def plan_of_price(price: str) -> str | None:
    return "professional" if price == PRICE_PROFESSIONAL else None


@pytest.fixture()
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as running:
        yield running


@pytest.fixture()
def api(fake: FakeStripe) -> StripeApi:
    cfg = load_stripe(fake.stack_env(), "http://127.0.0.1:8080", production=False)
    assert cfg is not None
    return StripeApi(cfg, timeout_s=5)


def session_event(fake: FakeStripe, api: StripeApi, paid: bool = True) -> dict:
    customer = api.create_customer(ACCOUNT, "ada@example.com", "Ada")
    session = api.create_checkout_session(ACCOUNT, customer, "professional")
    return fake.checkout_completed(session.id, paid=paid)


def test_a_completed_checkout_is_about_the_subscription_it_started(fake: FakeStripe, api: StripeApi) -> None:
    event = session_event(fake, api)
    about = subject(event)
    assert about is not None and about.account_id == ACCOUNT
    assert about.customer_id.startswith("cus_") and about.subscription_id.startswith("sub_")


@pytest.mark.parametrize("kind", ["created", "updated", "deleted", "paused", "resumed"])
def test_subscription_events_are_about_their_subscription(fake: FakeStripe, kind: str) -> None:
    sub = fake.subscription("sub_1", "cus_1", "active", PRICE_PROFESSIONAL, {"account_id": ACCOUNT})
    assert subject(fake.event(f"customer.subscription.{kind}", sub)) == Subject("sub_1", ACCOUNT, "cus_1")


def test_failed_payments_are_about_the_invoices_subscription_in_old_and_new_shapes(fake: FakeStripe) -> None:
    assert subject(fake.invoice_failed("sub_9", "cus_9")) == Subject("sub_9", "", "cus_9")
    old = fake.event("invoice.payment_failed", {"id": "in_1", "customer": "cus_9", "subscription": "sub_8"})
    assert subject(old) == Subject("sub_8", "", "cus_9")
    one_off = fake.event("invoice.payment_failed", {"id": "in_2", "customer": "cus_9"})
    assert subject(one_off) is None


@pytest.mark.parametrize(
    "event",
    [
        {"type": "customer.created", "data": {"object": {"id": "cus_1"}}},
        {"type": "checkout.session.completed", "data": {"object": {"mode": "payment"}}},
        {"type": "checkout.session.completed", "data": {"object": {"mode": "subscription"}}},
        {"type": "checkout.session.completed", "data": {"object": "not an object"}},
        {"type": "customer.subscription.updated"},
    ],
)
def test_other_events_are_not_acted_on(event: dict) -> None:
    assert subject(event) is None


@pytest.mark.parametrize(
    ("status", "plan", "only_current"),
    [
        ("active", "professional", False),
        ("trialing", "professional", False),
        ("past_due", "professional", False),
        ("incomplete", None, False),
        ("canceled", "free", True),
        ("unpaid", "free", True),
        ("incomplete_expired", "free", True),
        ("paused", "free", True),
    ],
)
def test_the_subscriptions_status_decides_the_plan(
    fake: FakeStripe, status: str, plan: str | None, only_current: bool
) -> None:
    sub = fake.subscription("sub_1", "cus_1", status, PRICE_PROFESSIONAL, {"account_id": ACCOUNT})
    change = change_of(sub, Subject("sub_1"), plan_of_price)
    assert change is not None
    assert (change.plan, change.status, change.current_subscription_only) == (plan, status, only_current)
    assert (change.account_id, change.customer_id, change.subscription_id) == (ACCOUNT, "cus_1", "sub_1")


def test_the_account_comes_from_the_subscription_else_from_the_event(fake: FakeStripe) -> None:
    sub = fake.subscription("sub_1", "cus_1", "active", PRICE_PROFESSIONAL)  # no metadata
    change = change_of(sub, Subject("sub_1", "b" * 32, "cus_1"), plan_of_price)
    assert change is not None and change.account_id == "b" * 32


def test_a_price_this_installation_does_not_sell_is_not_acted_on(fake: FakeStripe) -> None:
    sub = fake.subscription("sub_1", "cus_1", "active", "price_someone_elses")
    assert change_of(sub, Subject("sub_1"), plan_of_price) is None


def test_the_current_state_is_read_from_stripe(fake: FakeStripe, api: StripeApi) -> None:
    event = session_event(fake, api)
    sub_id = event["data"]["object"]["subscription"]
    assert api.subscription(sub_id)["status"] == "active"
    session_id = event["data"]["object"]["id"]
    fake.subscription_of(session_id, "canceled")  # cancelled on Stripe's side since
    assert api.subscription(sub_id)["status"] == "canceled"
    assert fake.seen(f"/v1/subscriptions/{sub_id}")[0].method == "GET"
    assert api.subscription("sub_unknown") is None  # Stripe: 404 resource_missing
    assert api.subscription("cus_not_a_subscription/../x") is None  # never sent
    assert not fake.seen("/v1/subscriptions/cus_not_a_subscription/../x")
    fake.failures = [500] * 3
    with pytest.raises(Unavailable):
        api.subscription(sub_id)


def test_the_customer_is_created_once(fake: FakeStripe, api: StripeApi) -> None:
    first = api.create_customer(ACCOUNT, "ada@example.com", "Ada")
    again = api.create_customer(ACCOUNT, "ada@example.com", "Ada")
    assert first == again and first.startswith("cus_") and len(fake.customers) == 1
    (seen, _) = fake.seen("/v1/customers")
    assert seen.params == {"email": "ada@example.com", "name": "Ada", "metadata[account_id]": ACCOUNT}
    assert seen.headers["idempotency-key"] == f"aicosts-customer-{ACCOUNT}"


def test_checkout_is_a_subscription_of_the_configured_price(fake: FakeStripe, api: StripeApi) -> None:
    customer = api.create_customer(ACCOUNT, "ada@example.com", "Ada")
    session = api.create_checkout_session(ACCOUNT, customer, "professional")
    assert session.id.startswith("cs_test_") and session.url.startswith("https://checkout.stripe.com/")
    (seen,) = fake.seen("/v1/checkout/sessions")
    assert seen.params["mode"] == "subscription" and seen.params["customer"] == customer
    assert seen.params["line_items[0][price]"] == PRICE_PROFESSIONAL
    assert seen.params["client_reference_id"] == ACCOUNT
    assert seen.params["metadata[plan]"] == seen.params["subscription_data[metadata][plan]"] == "professional"
    assert seen.params["success_url"].endswith("session_id={CHECKOUT_SESSION_ID}")
    url = api.create_portal_session(customer)
    assert url.startswith("https://billing.stripe.com/")
    assert (
        fake.seen("/v1/billing_portal/sessions")[0].params["return_url"]
        == "http://127.0.0.1:8080/settings?billing=portal"
    )


def test_stripe_failures_are_unavailable_without_stripes_message(fake: FakeStripe, api: StripeApi) -> None:
    fake.failures = [500] * 3  # the first try and both retries
    with pytest.raises(Unavailable) as caught:
        api.create_customer(ACCOUNT, "ada@example.com", "Ada")
    assert str(caught.value) == UNAVAILABLE
    wrong_key = StripeApi(api.cfg.__class__(**{**api.cfg.__dict__, "secret_key": "sk_test_wrong"}))
    with pytest.raises(Unavailable):
        wrong_key.create_portal_session("cus_1")
    assert fake.requests[-1].headers["authorization"] == "Bearer sk_test_wrong"
