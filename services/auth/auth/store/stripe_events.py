"""Stripe webhook events in auth's database: `stripe_events`, one document per event id (the _id
unique index is what makes a replay a no-op, even when two deliveries race).

An event is claimed before it is processed and marked done after; a failed attempt releases its
claim so Stripe's retry processes it again, and a claim left by a crashed process is taken over
once it is older than CLAIM_STALE_S."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

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


class StripeEvents:
    def __init__(self, db: Database) -> None:
        self.events: Collection = db["stripe_events"]

    def ensure_indexes(self) -> None:
        # The event id is the _id (unique by definition); this only ages old ids out.
        self.events.create_index(
            "received_at", expireAfterSeconds=EVENT_RETENTION_DAYS * 86400, name="retention_ttl"
        )

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
