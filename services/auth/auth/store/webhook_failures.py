"""`webhook_failures`: one counter document per client network and fixed time window, counting
the Stripe webhook deliveries from that network that failed verification (an atomic $inc upsert
per failure, not a document each); each document expires when its window is over (TTL)."""

from __future__ import annotations

import datetime as dt

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError


class WebhookFailureCounter:
    def __init__(self, db: Database) -> None:
        self.col: Collection = db["webhook_failures"]

    def ensure_indexes(self) -> None:
        self.col.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")

    def add(self, network: str, window_start: dt.datetime, expires_at: dt.datetime) -> None:
        query = {"_id": f"{network}|{window_start.isoformat()}"}
        count = {"$inc": {"count": 1}}
        first = {"network": network, "window_start": window_start, "expires_at": expires_at}
        try:
            self.col.update_one(query, {**count, "$setOnInsert": first}, upsert=True)
        except DuplicateKeyError:  # a concurrent first failure inserted it: count on it
            self.col.update_one(query, count)

    def count(self, network: str, window_start: dt.datetime) -> int:
        doc = self.col.find_one({"_id": f"{network}|{window_start.isoformat()}"}, {"count": 1})
        return int(doc["count"]) if doc else 0
