"""Billing state in auth's database: the `billing` part of an account (Stripe customer and
subscription, when the last applied subscription state was read from Stripe) and `stripe_events`,
one document per webhook event id (the _id unique index is what makes a replay a no-op, even
when two deliveries race).

An event is claimed before it is processed and marked done after; a failed attempt releases its
claim so Stripe's retry processes it again, and a claim left by a crashed process is taken over
once it is older than CLAIM_STALE_S.

A plan write also sets `plan_changed_at` in the same update, so the plan and its change time
are committed together: usage's reconciler follows them (`plan_changes_after`, the
ListPlanChanges RPC) and cannot miss a committed plan change, whatever happens to the webhook
delivery afterwards."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]
CLAIM_STALE_S = 120
EVENT_RETENTION_DAYS = 90  # Stripe retries a delivery for up to 3 days


class Claim(enum.Enum):
    NEW = "new"  # this caller processes the event
    DONE = "done"  # processed before: a replay
    BUSY = "busy"  # another delivery of it is being processed right now


class BillingStore:
    def __init__(self, db: Database) -> None:
        self.accounts: Collection = db["accounts"]
        self.events: Collection = db["stripe_events"]

    def ensure_indexes(self) -> None:
        self.accounts.create_index(
            [("plan_changed_at", ASCENDING), ("_id", ASCENDING)], sparse=True, name="plan_changes"
        )
        # The event id is the _id (unique by definition); this only ages old ids out.
        self.events.create_index(
            "received_at", expireAfterSeconds=EVENT_RETENTION_DAYS * 86400, name="retention_ttl"
        )

    # --- accounts -------------------------------------------------------------------------

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

    # --- webhook events -------------------------------------------------------------------

    def claim(
        self, event_id: str, event_type: str, created: int, now: dt.datetime
    ) -> tuple[Claim, Doc | None]:
        try:
            self.events.insert_one(
                {
                    "_id": event_id,
                    "type": event_type,
                    "created": created,
                    "state": "processing",
                    "received_at": now,
                    "claimed_at": now,
                }
            )
            return Claim.NEW, None
        except DuplicateKeyError:
            pass
        stale = now - dt.timedelta(seconds=CLAIM_STALE_S)
        taken = self.events.find_one_and_update(
            {"_id": event_id, "state": "processing", "claimed_at": {"$lt": stale}},
            {"$set": {"claimed_at": now}},
        )
        if taken is not None:
            return Claim.NEW, None
        doc = self.events.find_one({"_id": event_id})
        if doc is None:  # released by a failed attempt just now: let Stripe's retry take it
            return Claim.BUSY, None
        return (Claim.DONE if doc.get("state") == "done" else Claim.BUSY), doc

    def finish(self, event_id: str, result: str, account_id: str, now: dt.datetime) -> None:
        self.events.update_one(
            {"_id": event_id},
            {"$set": {"state": "done", "result": result, "account_id": account_id or None, "done_at": now}},
        )

    def release(self, event_id: str) -> None:
        self.events.delete_one({"_id": event_id, "state": "processing"})
