"""Keyvault's own database: provider credentials (ciphertext + metadata), a ledger of the key
versions other services' secrets are under (counted by their owner's last census, or seen in
use since), and the seal floor. The only pymongo code in keyvault."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bson.binary import Binary
from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

ACTIVE, INVALID = "active", "invalid"
STATUSES = (ACTIVE, INVALID)


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
        }


class CredentialStore:
    def __init__(self, db: Database) -> None:
        self.credentials = db["credentials"]
        self.secret_use = db["secret_key_use"]
        self.state = db["keyring_state"]

    def ensure_indexes(self) -> None:
        self.credentials.create_index([("account_id", ASCENDING), ("created_at", ASCENDING)])
        self.credentials.create_index("key_version")  # the rewrap job selects stale versions

    # --- credentials ---------------------------------------------------------

    def insert(self, record: CredentialRecord) -> None:
        self.credentials.insert_one(record.to_doc())

    def count_for_account(self, account_id: str) -> int:
        return self.credentials.count_documents({"account_id": account_id})

    def get(self, credential_id: str) -> CredentialRecord | None:
        doc = self.credentials.find_one({"_id": credential_id})
        return CredentialRecord.from_doc(doc) if doc else None

    def get_for_account(self, account_id: str, credential_id: str) -> CredentialRecord | None:
        doc = self.credentials.find_one({"_id": credential_id, "account_id": account_id})
        return CredentialRecord.from_doc(doc) if doc else None

    def list_for_account(self, account_id: str) -> list[CredentialRecord]:
        cursor = self.credentials.find({"account_id": account_id}).sort([("created_at", 1), ("_id", 1)])
        return [CredentialRecord.from_doc(d) for d in cursor]

    def delete(self, account_id: str, credential_id: str) -> bool:
        return (
            self.credentials.delete_one({"_id": credential_id, "account_id": account_id}).deleted_count == 1
        )

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
            {"_id": credential_id, "account_id": account_id},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return CredentialRecord.from_doc(doc) if doc else None

    def touch_used(self, credential_id: str, at: dt.datetime) -> None:
        self.credentials.update_one({"_id": credential_id}, {"$set": {"last_used_at": at}})

    def versions_in_use(self) -> dict[int, int]:
        """Number of credentials per key version."""
        rows = self.credentials.aggregate([{"$group": {"_id": "$key_version", "n": {"$sum": 1}}}])
        return {int(r["_id"]): int(r["n"]) for r in rows}

    def stale_ids(self, current_version: int) -> list[str]:
        """Ids of credentials sealed under any other version (ids only: the job re-reads each)."""
        cursor = self.credentials.find({"key_version": {"$ne": current_version}}, {"_id": 1}).sort("_id", 1)
        return [d["_id"] for d in cursor]

    def replace_ciphertext(self, record: CredentialRecord, ciphertext: bytes, key_version: int) -> bool:
        """Compare-and-set: only if the record still holds the ciphertext we re-encrypted."""
        result = self.credentials.update_one(
            {"_id": record.id, "ciphertext": Binary(record.ciphertext)},
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
