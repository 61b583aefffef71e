"""Every keyvault ciphertext auth stores, field by field, for re-encryption after a key rotation:
the confirmed TOTP seed (`totp.secret`) and one set up but not confirmed yet (`totp.pending`).
A new encrypted field is added to ENCRYPTED_FIELDS, or `python -m auth.rewrap` misses it and
the key version it was sealed under can never be retired."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

ENCRYPTED_FIELDS = ("totp.secret", "totp.pending")


def _values(doc: dict[str, Any]) -> Iterator[tuple[str, str, bytes]]:
    for field in ENCRYPTED_FIELDS:
        value: Any = doc
        for part in field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bytes):
            yield doc["_id"], field, value


class EncryptedFields:
    def __init__(self, db: Database) -> None:
        self.col: Collection = db["accounts"]

    def each(self, batch_size: int = 100) -> Iterator[tuple[str, str, bytes]]:
        """(account id, field, ciphertext) for every encrypted value stored."""
        query = {"$or": [{f: {"$type": "binData"}} for f in ENCRYPTED_FIELDS]}
        for doc in self.col.find(query, dict.fromkeys(ENCRYPTED_FIELDS, 1), batch_size=batch_size):
            yield from _values(doc)

    def of(self, account_id: str) -> list[tuple[str, str, bytes]]:
        """The encrypted values one account stores now."""
        doc = self.col.find_one({"_id": account_id}, dict.fromkeys(ENCRYPTED_FIELDS, 1))
        return list(_values(doc)) if doc else []

    def replace(self, account_id: str, field: str, old: bytes, new: bytes) -> bool:
        """Store a re-encrypted value, only if the field still holds `old` (not changed meanwhile)."""
        assert field in ENCRYPTED_FIELDS
        result = self.col.update_one({"_id": account_id, field: old}, {"$set": {field: new}})
        return result.modified_count == 1
