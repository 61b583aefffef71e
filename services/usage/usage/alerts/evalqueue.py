"""The `alert_evaluations` collection: which accounts' alerts need evaluating. A sync or import
that changed data marks the account due; the daily pass marks every account with budgets or
anomaly detection due once per UTC day. Marks are durable, so a process that dies between
writing data and evaluating it leaves the work to another replica or to its own restart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

LEASE = dt.timedelta(seconds=120)


class EvaluationQueue:
    def __init__(self, db: Database) -> None:
        self.queue = db["alert_evaluations"]

    def ensure_indexes(self) -> None:
        self.queue.create_index([("due_at", ASCENDING)])

    def mark_due(self, account_id: str, now: dt.datetime) -> None:
        self.queue.update_one(
            {"_id": account_id},
            {
                "$set": {"due_at": now, "marked_at": now},
                "$setOnInsert": {"lease_until": now, "daily_for": ""},
            },
            upsert=True,
        )

    def mark_daily(self, account_id: str, day: dt.date, now: dt.datetime) -> bool:
        """Due once per day: True when this call marked it (any replica may run the daily pass)."""
        result = self.queue.update_one(
            {"_id": account_id, "daily_for": {"$ne": day.isoformat()}},
            {"$set": {"due_at": now, "marked_at": now, "daily_for": day.isoformat()}},
        )
        if result.matched_count:
            return True
        if self.queue.count_documents({"_id": account_id}, limit=1):
            return False
        self.queue.update_one(
            {"_id": account_id},
            {
                "$setOnInsert": {
                    "due_at": now,
                    "marked_at": now,
                    "daily_for": day.isoformat(),
                    "lease_until": now,
                }
            },
            upsert=True,
        )
        return True

    def claim(self, owner: str, now: dt.datetime) -> dict[str, Any] | None:
        return self.queue.find_one_and_update(
            {"due_at": {"$lte": now}, "lease_until": {"$lte": now}},
            {"$set": {"lease_owner": owner, "lease_until": now + LEASE}},
            sort=[("due_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    def done(self, claimed: dict[str, Any], now: dt.datetime) -> None:
        """Clear the mark unless it was set again while evaluating (then evaluate once more)."""
        self.queue.update_one(
            {"_id": claimed["_id"], "marked_at": claimed["marked_at"]},
            {"$set": {"due_at": None}},
        )
        self.queue.update_one({"_id": claimed["_id"]}, {"$set": {"lease_until": now, "lease_owner": None}})

    def release(self, claimed: dict[str, Any], retry_at: dt.datetime) -> None:
        """Evaluation failed: try again later."""
        self.queue.update_one(
            {"_id": claimed["_id"]}, {"$set": {"lease_until": retry_at, "lease_owner": None}}
        )
