"""The `alert_deliveries` collection: one document per (alert, channel) to send, with every
attempt kept (time, HTTP status or error, duration) as the delivery log. Workers of any replica
claim due deliveries with a short lease, so each attempt is made by one process."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database

from usage.alerts.paging import newest_first

LEASE = dt.timedelta(seconds=60)
KEEP_ATTEMPTS = 50  # a delivery retried for 24 h makes about 30 attempts


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.deliveries = db["alert_deliveries"]

    def ensure_indexes(self) -> None:
        self.deliveries.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        self.deliveries.create_index(
            [("account_id", ASCENDING), ("fired_at", DESCENDING), ("_id", DESCENDING)]
        )
        self.deliveries.create_index("alert_id")

    def add(
        self,
        account_id: str,
        alert_id: str,
        channel: str,
        destination_id: str,
        payload: dict[str, Any],
        now: dt.datetime,
    ) -> dict[str, Any]:
        """A delivery of its own (a test message)."""
        doc = _new(uuid.uuid4().hex, account_id, alert_id, channel, destination_id, payload, now)
        self.deliveries.insert_one(doc)
        return doc

    def add_for_alert(
        self,
        account_id: str,
        alert: str,
        channel: str,
        destination_id: str,
        payload: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        """The alert's delivery to one channel, once: its id derives from the alert, so adding it
        again (after a crash, or by another replica) changes nothing."""
        delivery_id = hashlib.sha256(f"{alert}|{channel}|{destination_id}".encode()).hexdigest()[:32]
        doc = _new(delivery_id, account_id, alert, channel, destination_id, payload, now)
        self.deliveries.update_one({"_id": delivery_id}, {"$setOnInsert": doc}, upsert=True)

    def claim(self, owner: str, now: dt.datetime) -> dict[str, Any] | None:
        """The next due delivery of any account (the worker's queue), leased to `owner`."""
        return self.deliveries.find_one_and_update(
            {"status": "pending", "next_attempt_at": {"$lte": now}, "lease_until": {"$lte": now}},
            {"$set": {"lease_owner": owner, "lease_until": now + LEASE}},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    def claim_one(
        self, account_id: str, delivery_id: str, owner: str, now: dt.datetime
    ) -> dict[str, Any] | None:
        return self.deliveries.find_one_and_update(
            {"_id": delivery_id, "account_id": account_id, "status": "pending", "lease_until": {"$lte": now}},
            {"$set": {"lease_owner": owner, "lease_until": now + LEASE}},
            return_document=ReturnDocument.AFTER,
        )

    def finish_attempt(
        self,
        delivery_id: str,
        owner: str,
        attempt: dict[str, Any],
        status: str,
        next_attempt_at: dt.datetime | None,
    ) -> dict[str, Any] | None:
        """Record one attempt and the new state; only the lease holder's result counts."""
        return self.deliveries.find_one_and_update(
            {"_id": delivery_id, "lease_owner": owner},
            {
                "$push": {"attempts": {"$each": [attempt], "$slice": -KEEP_ATTEMPTS}},
                "$set": {
                    "status": status,
                    "next_attempt_at": next_attempt_at,
                    "lease_owner": None,
                    "lease_until": attempt["at"],
                },
            },
            return_document=ReturnDocument.AFTER,
        )

    def get(self, account_id: str, delivery_id: str) -> dict[str, Any] | None:
        return self.deliveries.find_one({"_id": delivery_id, "account_id": account_id})

    def state_of_alert(self, account_id: str, alert_id: str) -> str:
        """What the alert's history shows: "failing" once any delivery gave up, "pending" while
        any is still being tried, else "delivered"."""
        mine = {"alert_id": alert_id, "account_id": account_id}
        states = {d["status"] for d in self.deliveries.find(mine, {"status": 1})}
        return "failing" if "gave_up" in states else "pending" if "pending" in states else "delivered"

    def page(self, account_id: str, destination_id: str, limit: int, cursor: str) -> tuple[list[dict], str]:
        query: dict[str, Any] = {"account_id": account_id}
        if destination_id:
            query["destination_id"] = destination_id
        return newest_first(self.deliveries, query, limit, cursor)

    def drop_destination(self, account_id: str, destination_id: str, now: dt.datetime) -> set[str]:
        """A deleted destination gets nothing more: its pending deliveries give up. Returns the
        alerts they belonged to, whose shown delivery state changes with them."""
        pending = {"account_id": account_id, "destination_id": destination_id, "status": "pending"}
        alerts = {d["alert_id"] for d in self.deliveries.find(pending, {"alert_id": 1}) if d["alert_id"]}
        self.deliveries.update_many(pending, {"$set": {"status": "gave_up", "next_attempt_at": None}})
        return alerts


def _new(
    delivery_id: str,
    account_id: str,
    alert_id: str,
    channel: str,
    destination_id: str,
    payload: dict[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "_id": delivery_id,
        "account_id": account_id,
        "alert_id": alert_id,
        "channel": channel,
        "destination_id": destination_id,
        "payload": payload,
        "status": "pending",
        "attempts": [],
        "fired_at": now,  # created; named for the shared page cursor
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": now,
    }
