"""What a verified Stripe event means for an account's plan. Pure functions, no I/O.

Events are notices, not state: Stripe does not promise their order, and several can share one
`created` second, so no event's payload decides a plan. An event only names the subscription it
is about (subject()); the plan follows from that subscription's current state, fetched from
Stripe by the caller and read here (change_of()), as Stripe recommends.

Acted on: checkout.session.completed (subscription mode), customer.subscription.created /
updated / deleted / paused / resumed, and invoice.payment_failed. Every other type is
acknowledged and ignored. The subscription's status then decides:
- active, trialing, past_due → the plan of its price (a price this installation does not sell:
  not ours to act on);
- canceled, unpaid, incomplete_expired, paused → free, for the account's current subscription only;
- incomplete → the status only (the first payment is still pending)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from svccommon.plans import DEFAULT_PLAN

PAYING = ("active", "trialing", "past_due")
ENDED = ("canceled", "unpaid", "incomplete_expired", "paused")
SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
)
HANDLED = ("checkout.session.completed", *SUBSCRIPTION_EVENTS, "invoice.payment_failed")


@dataclass(frozen=True)
class Subject:
    """The subscription an event is about, and who it says that is (our metadata, its customer)."""

    subscription_id: str
    account_id: str = ""
    customer_id: str = ""


@dataclass(frozen=True)
class Change:
    """What to record for one subscription state. Empty strings: the state does not say."""

    account_id: str  # from our metadata / client_reference_id
    customer_id: str
    subscription_id: str
    plan: str | None  # the plan to move to; None leaves it
    status: str | None  # the subscription status to record; None leaves it
    # Ended subscriptions only act on the account's current subscription: the end of an older
    # one must not downgrade an account that has since subscribed again.
    current_subscription_only: bool = False


def _id(value: Any) -> str:
    """An id that Stripe sends either as a string or as an expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _price_ids(subscription: Mapping[str, Any]) -> list[str]:
    items = subscription.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    prices = []
    for item in data if isinstance(data, list) else []:
        price = item.get("price") if isinstance(item, Mapping) else None
        prices.append(_id(price))
    return [p for p in prices if p]


def _invoice_subscription(obj: Mapping[str, Any]) -> str:
    # Older API versions name the subscription on the invoice; newer ones under parent.
    parent = obj.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    nested = details.get("subscription") if isinstance(details, Mapping) else None
    return _id(obj.get("subscription")) or _id(nested)


def subject(event: Mapping[str, Any]) -> Subject | None:
    """The subscription an event is about, or None when it is not one this service acts on."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        return None
    kind = event.get("type")
    if kind == "checkout.session.completed":
        if obj.get("mode") != "subscription":
            return None
        account = _id(obj.get("client_reference_id")) or _id(_metadata(obj).get("account_id"))
        found = Subject(_id(obj.get("subscription")), account, _id(obj.get("customer")))
    elif kind in SUBSCRIPTION_EVENTS:
        found = Subject(_id(obj.get("id")), _id(_metadata(obj).get("account_id")), _id(obj.get("customer")))
    elif kind == "invoice.payment_failed":
        found = Subject(_invoice_subscription(obj), "", _id(obj.get("customer")))  # one-off: none
    else:
        return None
    return found if found.subscription_id else None


def change_of(
    subscription: Mapping[str, Any], about: Subject, plan_of_price: Callable[[str], str | None]
) -> Change | None:
    """What the subscription's current state means for the account `about` names."""
    status = subscription.get("status") if isinstance(subscription.get("status"), str) else ""
    if status in ENDED:
        plan: str | None = DEFAULT_PLAN
    elif status in PAYING:
        plans = [p for p in map(plan_of_price, _price_ids(subscription)) if p]
        plan = plans[0] if plans else None
        if plan is None:
            return None  # a price this installation does not sell: not ours to act on
    else:
        plan = None  # incomplete: the first payment is still pending
    return Change(
        account_id=_id(_metadata(subscription).get("account_id")) or about.account_id,
        customer_id=_id(subscription.get("customer")) or about.customer_id,
        subscription_id=_id(subscription.get("id")) or about.subscription_id,
        plan=plan,
        status=status or None,
        current_subscription_only=plan == DEFAULT_PLAN,
    )
