"""`sessions` (one per sign-in: the refresh-token family) and `refresh_tokens` (SHA-256 hashes
only). A refresh token is spent by a conditional update, so it can be rotated exactly once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database

Doc = dict[str, Any]


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.sessions: Collection = db["sessions"]
        self.refresh: Collection = db["refresh_tokens"]

    def ensure_indexes(self) -> None:
        self.sessions.create_index([("account_id", ASCENDING), ("revoked_at", ASCENDING)])
        # Mongo's TTL monitor removes expired sessions and tokens; queries still check expiry.
        self.sessions.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")
        self.refresh.create_index("session_id")
        self.refresh.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")

    def create(self, doc: Doc) -> None:
        self.sessions.insert_one(doc)

    def get(self, session_id: str) -> Doc | None:
        return self.sessions.find_one({"_id": session_id}) if session_id else None

    def add_refresh_token(self, token_hash: str, session: Doc, now: dt.datetime) -> None:
        self.refresh.insert_one(
            {
                "_id": token_hash,
                "session_id": session["_id"],
                "account_id": session["account_id"],
                "created_at": now,
                "expires_at": session["expires_at"],
                "rotated_at": None,
            }
        )

    def find_refresh_token(self, token_hash: str) -> Doc | None:
        return self.refresh.find_one({"_id": token_hash})

    def spend_refresh_token(self, token_hash: str, now: dt.datetime) -> Doc | None:
        """Mark the token rotated; None if it was already rotated (a concurrent reuse)."""
        return self.refresh.find_one_and_update(
            {"_id": token_hash, "rotated_at": None},
            {"$set": {"rotated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    def touch(self, session_id: str, now: dt.datetime) -> None:
        """The session was used: its refresh token was just exchanged (shown as last_used_at)."""
        self.sessions.update_one({"_id": session_id}, {"$set": {"last_refresh_at": now}})

    @staticmethod
    def _live(account_id: str, token_version: int, now: dt.datetime) -> Doc:
        return {
            "account_id": account_id,
            "revoked_at": None,
            "token_version": token_version,
            "expires_at": {"$gt": now},
        }

    def live_of(self, account_id: str, token_version: int, now: dt.datetime, limit: int) -> list[Doc]:
        """The account's live sessions (not revoked, not expired, of its current token version),
        newest first; at most `limit` of them (0: all)."""
        cursor = self.sessions.find(
            self._live(account_id, token_version, now),
            sort=[("created_at", DESCENDING), ("_id", DESCENDING)],
            limit=limit,
        )
        return list(cursor)

    def revoke_live(
        self, session_id: str, account_id: str, token_version: int, now: dt.datetime, reason: str
    ) -> bool:
        """Revoke one session if it is a live session of this account; False otherwise (also when
        it belongs to another account, so a caller learns nothing about other accounts' ids)."""
        result = self.sessions.update_one(
            {"_id": session_id, **self._live(account_id, token_version, now)},
            {"$set": {"revoked_at": now, "revoked_reason": reason}},
        )
        return result.modified_count == 1

    def revoke(self, session_id: str, now: dt.datetime, reason: str) -> bool:
        result = self.sessions.update_one(
            {"_id": session_id, "revoked_at": None}, {"$set": {"revoked_at": now, "revoked_reason": reason}}
        )
        return result.modified_count == 1

    def revoke_all(self, account_id: str, now: dt.datetime, reason: str, *, keep: str | None = None) -> int:
        """End every live session of the account except `keep` (the caller's own, when given)."""
        query: Doc = {"account_id": account_id, "revoked_at": None}
        if keep:
            query["_id"] = {"$ne": keep}
        result = self.sessions.update_many(query, {"$set": {"revoked_at": now, "revoked_reason": reason}})
        return result.modified_count
