"""What a verified Stripe event means for an account's plan: pure functions over the event's
JSON (the shapes of Stripe's API reference), no I/O.

- checkout.session.completed (subscription mode, paid): the plan in its metadata.
- customer.subscription.created / updated: active, trialing or past_due → the plan of its price;
  canceled, unpaid, incomplete_expired or paused → free; incomplete → status only.
- customer.subscription.deleted → free.
- invoice.payment_failed → subscription status past_due; the plan stays until Stripe gives up
  (it then sends customer.subscription.updated/deleted, which move the plan).
Every other type is acknowledged and ignored."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from svccommon.plans import DEFAULT_PLAN, PLANS

PAYING = ("active", "trialing", "past_due")
ENDED = ("canceled", "unpaid", "incomplete_expired", "paused")
HANDLED = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_failed",
)


@dataclass(frozen=True)
class Change:
    """What to record for one event. Empty strings: the event does not say."""

    account_id: str  # from our metadata / client_reference_id
    customer_id: str
    subscription_id: str
    plan: str | None  # the plan to move to; None leaves it
    status: str | None  # the subscription status to record; None leaves it
    # Ending or failing events only act on the account's current subscription: the end of an
    # older one must not downgrade an account that has since subscribed again.
    current_subscription_only: bool = False


def _id(value: Any) -> str:
    """An id that Stripe sends either as a string or as an expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _paid_plan(plan_id: Any) -> str | None:
    plan = PLANS.get(plan_id) if isinstance(plan_id, str) else None
    return plan.id if plan is not None and plan.paid else None


def _price_ids(subscription: Mapping[str, Any]) -> list[str]:
    items = subscription.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    prices = []
    for item in data if isinstance(data, list) else []:
        price = item.get("price") if isinstance(item, Mapping) else None
        prices.append(_id(price))
    return [p for p in prices if p]


def _checkout(obj: Mapping[str, Any]) -> Change | None:
    if obj.get("mode") != "subscription":
        return None
    paid = obj.get("payment_status") in ("paid", "no_payment_required")
    plan = _paid_plan(_metadata(obj).get("plan")) if paid else None
    return Change(
        account_id=_id(obj.get("client_reference_id")) or _id(_metadata(obj).get("account_id")),
        customer_id=_id(obj.get("customer")),
        subscription_id=_id(obj.get("subscription")),
        plan=plan,
        status="active" if plan else None,
    )


def _subscription(
    obj: Mapping[str, Any], deleted: bool, plan_of_price: Callable[[str], str | None]
) -> Change | None:
    status = obj.get("status") if isinstance(obj.get("status"), str) else ""
    if deleted or status in ENDED:
        plan: str | None = DEFAULT_PLAN
    elif status in PAYING:
        plans = [p for p in map(plan_of_price, _price_ids(obj)) if p]
        plan = plans[0] if plans else None
        if plan is None:
            return None  # a price this installation does not sell: not ours to act on
    else:
        plan = None  # incomplete: the first payment is still pending
    return Change(
        account_id=_id(_metadata(obj).get("account_id")),
        customer_id=_id(obj.get("customer")),
        subscription_id=_id(obj.get("id")),
        plan=plan,
        status="canceled" if deleted else (status or None),
        current_subscription_only=plan == DEFAULT_PLAN,
    )


def _invoice_subscription(obj: Mapping[str, Any]) -> str:
    # Older API versions name the subscription on the invoice; newer ones under parent.
    parent = obj.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    nested = details.get("subscription") if isinstance(details, Mapping) else None
    return _id(obj.get("subscription")) or _id(nested)


def _payment_failed(obj: Mapping[str, Any]) -> Change | None:
    subscription = _invoice_subscription(obj)
    if not subscription:
        return None  # a one-off invoice: no plan depends on it
    return Change(
        account_id="",
        customer_id=_id(obj.get("customer")),
        subscription_id=subscription,
        plan=None,
        status="past_due",
        current_subscription_only=True,
    )


def interpret(event: Mapping[str, Any], plan_of_price: Callable[[str], str | None]) -> Change | None:
    """The change an event asks for, or None when it is not one this service acts on."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        return None
    kind = event.get("type")
    if kind == "checkout.session.completed":
        return _checkout(obj)
    if kind in ("customer.subscription.created", "customer.subscription.updated"):
        return _subscription(obj, False, plan_of_price)
    if kind == "customer.subscription.deleted":
        return _subscription(obj, True, plan_of_price)
    if kind == "invoice.payment_failed":
        return _payment_failed(obj)
    return None
