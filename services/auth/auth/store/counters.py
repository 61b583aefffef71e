"""`login_failures`: one small document per counted event, keyed by what it counts against
("verify_email:<account>", "reset_email:<account>", "signup_notice:<account>"): emails sent to one
mailbox. Counting within a window gives a sliding-window limit; each document carries its own
expiry so the TTL monitor removes it when no window needs it. (Sign-in attempts are reserved
atomically in store/throttle.py instead: a count-then-record limit can be raced.)"""

from __future__ import annotations

import datetime as dt
import uuid

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database


class FailureCounter:
    def __init__(self, db: Database) -> None:
        self.col: Collection = db["login_failures"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("key", ASCENDING), ("at", ASCENDING)])
        self.col.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")

    def record(self, keys: list[str], now: dt.datetime, keep_s: int) -> None:
        expires = now + dt.timedelta(seconds=keep_s)
        self.col.insert_many(
            [{"_id": uuid.uuid4().hex, "key": k, "at": now, "expires_at": expires} for k in keys]
        )

    def count_since(self, key: str, since: dt.datetime, limit: int) -> int:
        return self.col.count_documents({"key": key, "at": {"$gt": since}}, limit=limit)

    def oldest_since(self, key: str, since: dt.datetime) -> dt.datetime | None:
        doc = self.col.find_one({"key": key, "at": {"$gt": since}}, sort=[("at", ASCENDING)])
        return doc["at"] if doc else None

    def clear(self, key: str) -> None:
        self.col.delete_many({"key": key})
