"""Keyvault's own database: provider credentials (ciphertext + metadata), a ledger of the key
versions other services' secrets are under (counted by their owner's last census, or seen in
use since), and the seal floor. The only pymongo code in keyvault.

A deleted credential becomes a tombstone: its secret, label and last4 are removed in the same
write that sets `deleted_at`, and every read here except `changes_after` skips it (LIVE), so it
is gone for lists, gets, reveals, limits, the census and the rewrap. It stays so that usage's
reconciler sees the deletion (`changes_after`, ordered by `changed_at`); a TTL index purges it
after TOMBSTONE_DAYS."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bson.binary import Binary
from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

ACTIVE, INVALID = "active", "invalid"
STATUSES = (ACTIVE, INVALID)
# Matches a live credential: deleted_at null or (documents from before tombstones) missing.
LIVE: dict[str, Any] = {"deleted_at": None}
# Long enough for any reconciler outage to be noticed and fixed; then the tombstone goes.
TOMBSTONE_DAYS = 30
# Removed from a credential when it is deleted: nothing secret or identifying outlives the key.
_ERASED_ON_DELETE = ("ciphertext", "key_version", "label", "last4", "status_message", "last_used_at")


@dataclass(frozen=True)
class CredentialChange:
    """One credential's latest change, for usage's reconciler: stored, or deleted."""

    id: str
    account_id: str
    platform: str
    created_at: dt.datetime
    deleted: bool
    changed_at: dt.datetime


@dataclass(frozen=True)
class CredentialRecord:
    id: str
    account_id: str
    platform: str
    label: str
    last4: str
    ciphertext: bytes = field(repr=False)
    key_version: int
    status: str
    status_message: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    last_sync_at: dt.datetime | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> CredentialRecord:
        return cls(
            id=doc["_id"],
            account_id=doc["account_id"],
            platform=doc["platform"],
            label=doc.get("label", ""),
            last4=doc.get("last4", ""),
            ciphertext=bytes(doc["ciphertext"]),
            key_version=int(doc["key_version"]),
            status=doc.get("status", ACTIVE),
            status_message=doc.get("status_message", ""),
            created_at=doc["created_at"],
            last_used_at=doc.get("last_used_at"),
            last_sync_at=doc.get("last_sync_at"),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "account_id": self.account_id,
            "platform": self.platform,
            "label": self.label,
            "last4": self.last4,
            "ciphertext": Binary(self.ciphertext),
            "key_version": self.key_version,
            "status": self.status,
            "status_message": self.status_message,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "last_sync_at": self.last_sync_at,
            "changed_at": self.created_at,
            "deleted_at": None,
        }


class CredentialStore:
    def __init__(self, db: Database) -> None:
        self.credentials = db["credentials"]
        self.secret_use = db["secret_key_use"]
        self.state = db["keyring_state"]

    def ensure_indexes(self) -> None:
        self.credentials.create_index([("account_id", ASCENDING), ("created_at", ASCENDING)])
        self.credentials.create_index("key_version")  # the rewrap job selects stale versions
        self.credentials.create_index([("changed_at", ASCENDING), ("_id", ASCENDING)])
        # Only tombstones have a date in deleted_at, so only they expire.
        self.credentials.create_index(
            "deleted_at", expireAfterSeconds=TOMBSTONE_DAYS * 86400, name="tombstone_ttl"
        )

    # --- credentials ---------------------------------------------------------

    def insert(self, record: CredentialRecord) -> None:
        self.credentials.insert_one(record.to_doc())

    def count_for_account(self, account_id: str) -> int:
        return self.credentials.count_documents({"account_id": account_id, **LIVE})

    def count_before(self, account_id: str, created_at: dt.datetime, credential_id: str) -> int:
        """The account's live keys stored before this one, in (created_at, _id) order: of two
        stores racing past the same count, the later one sees the earlier one here."""
        earlier = {
            "$or": [
                {"created_at": {"$lt": created_at}},
                {"created_at": created_at, "_id": {"$lt": credential_id}},
            ]
        }
        return self.credentials.count_documents({"account_id": account_id, **LIVE, **earlier})

    def get(self, credential_id: str) -> CredentialRecord | None:
        doc = self.credentials.find_one({"_id": credential_id, **LIVE})
        return CredentialRecord.from_doc(doc) if doc else None

    def get_for_account(self, account_id: str, credential_id: str) -> CredentialRecord | None:
        doc = self.credentials.find_one({"_id": credential_id, "account_id": account_id, **LIVE})
        return CredentialRecord.from_doc(doc) if doc else None

    def list_for_account(self, account_id: str) -> list[CredentialRecord]:
        cursor = self.credentials.find({"account_id": account_id, **LIVE}).sort(
            [("created_at", 1), ("_id", 1)]
        )
        return [CredentialRecord.from_doc(d) for d in cursor]

    def remove(self, account_id: str, credential_id: str) -> bool:
        """Undo an insert that must not stand (no tombstone: nobody was told it existed)."""
        return (
            self.credentials.delete_one({"_id": credential_id, "account_id": account_id}).deleted_count == 1
        )

    def delete(self, account_id: str, credential_id: str, now: dt.datetime) -> bool:
        """Leave a tombstone: the secret and its metadata erased, the deletion time kept."""
        result = self.credentials.update_one(
            {"_id": credential_id, "account_id": account_id, **LIVE},
            {"$set": {"deleted_at": now, "changed_at": now}, "$unset": dict.fromkeys(_ERASED_ON_DELETE, "")},
        )
        return result.modified_count == 1

    def changes_after(self, after: tuple[dt.datetime, str] | None, limit: int) -> list[CredentialChange]:
        """Credentials (live or tombstones) by (changed_at, _id), after the given position."""
        query: dict[str, Any] = {"changed_at": {"$ne": None}}
        if after is not None:
            query = {
                "$or": [
                    {"changed_at": {"$gt": after[0]}},
                    {"changed_at": after[0], "_id": {"$gt": after[1]}},
                ]
            }
        cursor = (
            self.credentials.find(
                query, {"account_id": 1, "platform": 1, "created_at": 1, "deleted_at": 1, "changed_at": 1}
            )
            .sort([("changed_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [
            CredentialChange(
                id=d["_id"],
                account_id=d["account_id"],
                platform=d["platform"],
                created_at=d["created_at"],
                deleted=d.get("deleted_at") is not None,
                changed_at=d["changed_at"],
            )
            for d in cursor
        ]

    def update_status(
        self,
        account_id: str,
        credential_id: str,
        status: str,
        status_message: str,
        last_sync_at: dt.datetime | None,
    ) -> CredentialRecord | None:
        changes: dict[str, Any] = {"status": status, "status_message": status_message}
        if last_sync_at is not None:
            changes["last_sync_at"] = last_sync_at
        doc = self.credentials.find_one_and_update(
            {"_id": credential_id, "account_id": account_id, **LIVE},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return CredentialRecord.from_doc(doc) if doc else None

    def touch_used(self, credential_id: str, at: dt.datetime) -> None:
        self.credentials.update_one({"_id": credential_id, **LIVE}, {"$set": {"last_used_at": at}})

    def versions_in_use(self) -> dict[int, int]:
        """Number of credentials per key version."""
        rows = self.credentials.aggregate(
            [{"$match": LIVE}, {"$group": {"_id": "$key_version", "n": {"$sum": 1}}}]
        )
        return {int(r["_id"]): int(r["n"]) for r in rows}

    def stale_ids(self, current_version: int) -> list[str]:
        """Ids of credentials sealed under any other version (ids only: the job re-reads each)."""
        cursor = self.credentials.find({"key_version": {"$ne": current_version}, **LIVE}, {"_id": 1}).sort(
            "_id", 1
        )
        return [d["_id"] for d in cursor]

    def replace_ciphertext(self, record: CredentialRecord, ciphertext: bytes, key_version: int) -> bool:
        """Compare-and-set: only if the record still holds the ciphertext we re-encrypted."""
        result = self.credentials.update_one(
            {"_id": record.id, "ciphertext": Binary(record.ciphertext), **LIVE},
            {"$set": {"ciphertext": Binary(ciphertext), "key_version": key_version}},
        )
        return result.modified_count == 1

    # --- generic secrets: which versions are still out there -----------------

    def note_secret_use(self, caller: str, purpose: str, key_version: int, at: dt.datetime) -> None:
        self.secret_use.update_one(
            {"_id": f"{caller}|{purpose}|{key_version}"},
            {
                "$set": {
                    "caller": caller,
                    "purpose": purpose,
                    "key_version": key_version,
                    "last_seen_at": at,
                },
                "$setOnInsert": {"first_seen_at": at},
            },
            upsert=True,
        )

    def secret_use_of(self, key_version: int) -> list[dict[str, Any]]:
        """Ledger entries of one version: caller, purpose, last_seen_at, and census_count when the
        owner's last census counted records under it (else: seen in use since that census)."""
        return list(self.secret_use.find({"key_version": key_version}, {"_id": 0}).sort("caller", 1))

    def apply_census(
        self, caller: str, purpose: str, started_at: dt.datetime, counts: dict[int, int], at: dt.datetime
    ) -> None:
        """The owner re-encrypted every secret it holds after `started_at` and holds `counts`
        (version → records). Entries last seen before the start are superseded; entries seen
        since stay (sealed meanwhile, or opened before their turn came)."""
        owner = {"caller": caller, "purpose": purpose}
        counted = [v for v, n in counts.items() if n > 0]
        self.secret_use.delete_many(
            {**owner, "key_version": {"$nin": counted}, "last_seen_at": {"$lt": started_at}}
        )
        self.secret_use.update_many(
            {**owner, "key_version": {"$nin": counted}}, {"$unset": {"census_count": "", "census_at": ""}}
        )
        for version in counted:
            census = {"census_count": counts[version], "census_at": at}
            self.secret_use.update_one(
                {"_id": f"{caller}|{purpose}|{version}"},
                {
                    "$set": {**owner, "key_version": version, **census},
                    "$setOnInsert": {"first_seen_at": at, "last_seen_at": at},
                },
                upsert=True,
            )

    # --- the seal floor ------------------------------------------------------

    def seal_floor(self) -> int:
        """The lowest key version a replica may still seal under (0: no floor yet)."""
        doc = self.state.find_one({"_id": "seal_floor"})
        return int(doc["version"]) if doc else 0

    def raise_seal_floor(self, version: int, at: dt.datetime) -> int:
        """Raise the floor to `version` (never lowers it); the floor now in force."""
        self.state.update_one(
            {"_id": "seal_floor"}, {"$max": {"version": version}, "$set": {"updated_at": at}}, upsert=True
        )
        return self.seal_floor()
