"""The `alert_destinations` collection: webhook and Slack destinations. The URL and the signing
secret are stored only sealed by the keyvault (purpose "alert_destination"); `target` is what can
be shown (scheme and host)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database


class DestinationStore:
    def __init__(self, db: Database) -> None:
        self.destinations = db["alert_destinations"]

    def ensure_indexes(self) -> None:
        self.destinations.create_index([("account_id", ASCENDING), ("created_at", ASCENDING)])

    def create(
        self,
        destination_id: str,
        account_id: str,
        kind: str,
        name: str,
        target: str,
        sealed: bytes,
        now: dt.datetime,
    ) -> dict[str, Any]:
        doc = {
            "_id": destination_id,
            "account_id": account_id,
            "kind": kind,
            "name": name,
            "target": target,
            "sealed": sealed,
            "created_at": now,
            "last_status": "",
            "last_delivery_at": None,
        }
        self.destinations.insert_one(doc)
        return doc

    def get(self, account_id: str, destination_id: str) -> dict[str, Any] | None:
        return self.destinations.find_one({"_id": destination_id, "account_id": account_id})

    def of_account(self, account_id: str) -> list[dict[str, Any]]:
        return list(self.destinations.find({"account_id": account_id}).sort([("created_at", ASCENDING)]))

    def ids(self, account_id: str) -> set[str]:
        return {d["_id"] for d in self.destinations.find({"account_id": account_id}, {"_id": 1})}

    def count(self, account_id: str) -> int:
        return self.destinations.count_documents({"account_id": account_id})

    def delete(self, account_id: str, destination_id: str) -> bool:
        return (
            self.destinations.delete_one({"_id": destination_id, "account_id": account_id}).deleted_count == 1
        )

    def set_sealed(self, account_id: str, destination_id: str, sealed: bytes) -> None:
        """After a keyring rotation: the same secret, sealed under the current key version."""
        mine = {"_id": destination_id, "account_id": account_id}
        self.destinations.update_one(mine, {"$set": {"sealed": sealed}})

    def replace_sealed(self, destination_id: str, old: bytes, new: bytes) -> bool:
        """Compare-and-set for the rewrap job: only if the destination still holds `old` (not
        deleted, not re-sealed by a delivery meanwhile)."""
        still = {"_id": destination_id, "sealed": old}
        return self.destinations.update_one(still, {"$set": {"sealed": new}}).modified_count == 1

    def note_delivery(self, account_id: str, destination_id: str, status: str, at: dt.datetime) -> None:
        self.destinations.update_one(
            {"_id": destination_id, "account_id": account_id},
            {"$set": {"last_status": status, "last_delivery_at": at}},
        )
