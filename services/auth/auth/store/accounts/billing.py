"""The `billing` part of an account (Stripe customer and subscription, when the last applied
subscription state was read from Stripe) and its plan, with `plan_changed_at` set in the same
update as the plan: the plan and its change time are committed together, so usage's reconciler,
which follows them (`plan_changes_after`, the ListPlanChanges RPC), cannot miss a committed plan
change, whatever happens to the webhook delivery afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database

Doc = dict[str, Any]


class BillingFields:
    def __init__(self, db: Database) -> None:
        self.accounts: Collection = db["accounts"]

    def ensure_indexes(self) -> None:
        self.accounts.create_index(
            [("plan_changed_at", ASCENDING), ("_id", ASCENDING)], sparse=True, name="plan_changes"
        )
        # Paid plans set before the feed existed enter it once, so usage's copy learns them
        # (Free is what usage assumes anyway). Idempotent: only accounts without the stamp.
        self.accounts.update_many(
            {"plan_changed_at": {"$exists": False}, "plan": {"$nin": [None, "", "free"]}},
            {"$set": {"plan_changed_at": dt.datetime.now(dt.UTC)}},
        )

    def get(self, account_id: str) -> Doc | None:
        return self.accounts.find_one({"_id": account_id}) if account_id else None

    def by_customer(self, customer_id: str) -> Doc | None:
        return self.accounts.find_one({"billing.stripe_customer_id": customer_id}) if customer_id else None

    def set_customer(self, account_id: str, customer_id: str, now: dt.datetime) -> Doc | None:
        """Remember the account's Stripe customer, unless one is already remembered; the stored
        document either way (two first checkouts racing keep the first customer)."""
        doc = self.accounts.find_one_and_update(
            {"_id": account_id, "billing.stripe_customer_id": {"$exists": False}},
            {"$set": {"billing.stripe_customer_id": customer_id, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return doc or self.get(account_id)

    def apply(
        self,
        account_id: str,
        read_at: dt.datetime,
        changes: dict[str, Any],
        now: dt.datetime,
    ) -> Doc | None:
        """Set `changes` (plan, billing.*), taken from a subscription state read from Stripe at
        `read_at`, unless a state read later was applied already (two deliveries racing); the
        document as it was before, or None when this state is the older one."""
        newest_first = {
            "$or": [
                {"billing.state_read_at": {"$exists": False}},
                {"billing.state_read_at": None},
                {"billing.state_read_at": {"$lte": read_at}},
            ]
        }
        update = {
            **changes,
            "billing.state_read_at": read_at,
            "billing.updated_at": now,
            "updated_at": now,
        }
        if "plan" in changes:
            update["plan_changed_at"] = now  # with the plan, in one write (see the module docstring)
        return self.accounts.find_one_and_update(
            {"_id": account_id, **newest_first}, {"$set": update}, return_document=ReturnDocument.BEFORE
        )

    def plan_changes_after(self, after: tuple[dt.datetime, str] | None, limit: int) -> list[Doc]:
        """Accounts by (plan_changed_at, _id) after the given position: _id, plan, plan_changed_at."""
        query: dict[str, Any] = {"plan_changed_at": {"$ne": None}}
        if after is not None:
            query = {
                "$or": [
                    {"plan_changed_at": {"$gt": after[0]}},
                    {"plan_changed_at": after[0], "_id": {"$gt": after[1]}},
                ]
            }
        cursor = self.accounts.find(query, {"plan": 1, "plan_changed_at": 1})
        return list(cursor.sort([("plan_changed_at", ASCENDING), ("_id", ASCENDING)]).limit(limit))
