"""`one_time_tokens`: email-verification links, password-reset links and MFA sign-in challenges.
Stored by SHA-256 hash only; spent by a conditional update so each works once."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database

Doc = dict[str, Any]
Kind = Literal["verify_email", "password_reset", "mfa_challenge"]


class OneTimeTokenStore:
    def __init__(self, db: Database) -> None:
        self.col: Collection = db["one_time_tokens"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("account_id", ASCENDING), ("kind", ASCENDING)])
        self.col.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")

    def insert(
        self, token_hash: str, kind: Kind, account_id: str, now: dt.datetime, ttl_s: int, **extra: Any
    ) -> None:
        self.col.insert_one(
            {
                "_id": token_hash,
                "kind": kind,
                "account_id": account_id,
                "created_at": now,
                "expires_at": now + dt.timedelta(seconds=ttl_s),
                "used_at": None,
                "failures": 0,
                **extra,
            }
        )

    def find_live(self, token_hash: str, kind: Kind, now: dt.datetime) -> Doc | None:
        """The token if it exists, has this kind, is unspent and unexpired (TTL deletion is lazy)."""
        return self.col.find_one(
            {"_id": token_hash, "kind": kind, "used_at": None, "expires_at": {"$gt": now}}
        )

    def spend(self, token_hash: str, kind: Kind, now: dt.datetime) -> Doc | None:
        """Mark used; None if it was not live (already used, expired, or never existed)."""
        return self.col.find_one_and_update(
            {"_id": token_hash, "kind": kind, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    def add_failure(self, token_hash: str, max_failures: int, now: dt.datetime) -> Doc | None:
        """Count a wrong code; at `max_failures` the token is spent (locked) for good."""
        doc = self.col.find_one_and_update(
            {"_id": token_hash, "used_at": None},
            {"$inc": {"failures": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None and doc["failures"] >= max_failures:
            self.col.update_one(
                {"_id": token_hash, "used_at": None}, {"$set": {"used_at": now, "locked": True}}
            )
            doc = {**doc, "used_at": now, "locked": True}
        return doc

    def spend_all(self, account_id: str, kind: Kind, now: dt.datetime) -> int:
        """Void every outstanding token of this kind for the account (e.g. after a reset)."""
        result = self.col.update_many(
            {"account_id": account_id, "kind": kind, "used_at": None}, {"$set": {"used_at": now}}
        )
        return result.modified_count
