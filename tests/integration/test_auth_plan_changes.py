"""auth's plan changes on the real database: a plan write sets its change time in the same
update (a billing write without a plan does not), and plan_changes pages accounts by
(plan_changed_at, _id), each at its latest change with its current plan."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from auth.billing import plan_changes
from auth.store.accounts import BillingFields
from pymongo import MongoClient
from svccommon.errors import InvalidArgument

T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture()
def store(mongo_uri: str) -> BillingFields:
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    billing = BillingFields(client[f"authtest_{uuid.uuid4().hex[:12]}"])
    billing.ensure_indexes()
    for account in ("acct-a", "acct-b", "acct-c"):
        billing.accounts.insert_one({"_id": account, "plan": "free"})
    return billing


def test_the_plan_and_its_change_time_are_one_write(store: BillingFields) -> None:
    store.apply("acct-a", T0, {"billing.subscription_status": "incomplete"}, T0)
    assert "plan_changed_at" not in store.get("acct-a")
    store.apply("acct-a", T0, {"plan": "professional"}, T0 + dt.timedelta(seconds=1))
    doc = store.get("acct-a")
    assert (doc["plan"], doc["plan_changed_at"]) == ("professional", T0 + dt.timedelta(seconds=1))
    # An older subscription state loses: neither the plan nor its change time move.
    assert (
        store.apply("acct-a", T0 - dt.timedelta(days=1), {"plan": "free"}, T0 + dt.timedelta(days=1)) is None
    )
    assert store.get("acct-a")["plan_changed_at"] == T0 + dt.timedelta(seconds=1)


def test_plan_changes_page_in_change_order_each_account_once(store: BillingFields) -> None:
    same = T0 + dt.timedelta(seconds=5)
    store.apply("acct-b", T0, {"plan": "professional"}, same)
    store.apply("acct-a", T0, {"plan": "professional"}, same)  # same instant: by id
    store.apply("acct-c", T0, {"plan": "professional"}, T0 + dt.timedelta(seconds=1))
    store.apply("acct-c", T0 + dt.timedelta(seconds=9), {"plan": "free"}, T0 + dt.timedelta(seconds=9))
    changes = plan_changes(store, None, 0)
    assert [(c["_id"], c["plan"]) for c in changes] == [
        ("acct-a", "professional"),
        ("acct-b", "professional"),
        ("acct-c", "free"),
    ]
    first = plan_changes(store, None, 1)[0]
    rest = plan_changes(store, (first["plan_changed_at"], first["_id"]), 10)
    assert [c["_id"] for c in rest] == ["acct-b", "acct-c"]
    with pytest.raises(InvalidArgument):
        plan_changes(store, None, 501)


def test_paid_plans_from_before_the_feed_enter_it_once(store: BillingFields) -> None:
    """An upgrade applied before plan_changed_at existed must still reach usage's copy."""
    store.accounts.insert_one({"_id": "acct-old-pro", "plan": "professional"})
    store.ensure_indexes()  # what a restart of the new release does
    stamped = store.get("acct-old-pro")["plan_changed_at"]
    assert "plan_changed_at" not in store.get("acct-b")  # Free: usage assumes it anyway
    store.ensure_indexes()  # again: nothing moves
    assert store.get("acct-old-pro")["plan_changed_at"] == stamped
    assert [d["_id"] for d in plan_changes(store, None, 10)] == ["acct-old-pro"]
