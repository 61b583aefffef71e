"""`accounts`: one document per user. Secrets in it are only ever hashes (password, backup codes)
or keyvault ciphertext (the TOTP seed). Writes that must not race are conditional updates.

An account whose address is not confirmed carries `unverified_expires_at`; the TTL index on it
deletes the account then (documents without the field, every verified account, never expire).
Such an account cannot hold provider keys or uploads (keyvault and the parser refuse it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.cursor import Cursor
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.col: Collection = db["accounts"]

    def ensure_indexes(self) -> None:
        # email_key is the case-folded address: one account per mailbox however it is typed.
        self.col.create_index("email_key", unique=True, name="email_key_unique")
        self.col.create_index("billing.stripe_customer_id", sparse=True, name="stripe_customer")
        self.col.create_index("unverified_expires_at", expireAfterSeconds=0, name="unverified_ttl")

    def backfill_unverified_expiry(self, expires: dt.datetime) -> int:
        """Give unverified accounts made before the field existed their expiry (from now on)."""
        result = self.col.update_many(
            {"email_verified": False, "unverified_expires_at": {"$exists": False}},
            {"$set": {"unverified_expires_at": expires}},
        )
        return result.modified_count

    def delete_expired_unverified(self, email_key: str, now: dt.datetime) -> bool:
        """Remove the address's account if it expired unverified (the TTL monitor may lag)."""
        result = self.col.delete_one(
            {"email_key": email_key, "email_verified": False, "unverified_expires_at": {"$lte": now}}
        )
        return result.deleted_count == 1

    def insert(self, doc: Doc) -> bool:
        """False when the email is already taken (the unique index decides, so no race)."""
        try:
            self.col.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def get(self, account_id: str) -> Doc | None:
        return self.col.find_one({"_id": account_id}) if account_id else None

    def by_email_key(self, email_key: str) -> Doc | None:
        return self.col.find_one({"email_key": email_key})

    def _update(self, account_id: str, changes: Doc, now: dt.datetime, **extra: Any) -> Doc | None:
        """Apply `changes` (+ updated_at) if the account matches `extra`; the new document or None."""
        update = dict(changes)
        update["$set"] = {**changes.get("$set", {}), "updated_at": now}
        return self.col.find_one_and_update(
            {"_id": account_id, **extra}, update, return_document=ReturnDocument.AFTER
        )

    def mark_verified(self, account_id: str, now: dt.datetime) -> Doc | None:
        changes = {
            "$set": {"email_verified": True, "email_verified_at": now},
            "$unset": {"unverified_expires_at": ""},
        }
        return self._update(account_id, changes, now)

    def set_name(self, account_id: str, name: str, now: dt.datetime) -> Doc | None:
        return self._update(account_id, {"$set": {"name": name}}, now)

    def set_password(
        self, account_id: str, password_hash: str, now: dt.datetime, *, end_all: bool
    ) -> Doc | None:
        """New hash; with end_all the token version moves on, so every existing session dies."""
        changes: Doc = {"$set": {"password_hash": password_hash, "password_changed_at": now}}
        if end_all:
            changes["$inc"] = {"token_version": 1}
        return self._update(account_id, changes, now)

    def rehash(self, account_id: str, old_hash: str, new_hash: str, now: dt.datetime) -> None:
        self._update(account_id, {"$set": {"password_hash": new_hash}}, now, password_hash=old_hash)

    def bump_token_version(self, account_id: str, now: dt.datetime) -> Doc | None:
        return self._update(account_id, {"$inc": {"token_version": 1}}, now)

    # --- TOTP -----------------------------------------------------------------------------

    def set_totp_pending(self, account_id: str, ciphertext: bytes, now: dt.datetime) -> Doc | None:
        """Store a not-yet-confirmed seed; refused (None) while 2FA is on."""
        return self._update(
            account_id,
            {"$set": {"totp.pending": ciphertext, "totp.pending_at": now}},
            now,
            **{"totp.enabled": {"$ne": True}},
        )

    def enable_totp(
        self, account_id: str, pending: bytes, step: int, backup_hashes: list[str], now: dt.datetime
    ) -> Doc | None:
        """Promote the pending seed, only if it is still the one the code was checked against."""
        totp = {
            "enabled": True,
            "secret": pending,
            "pending": None,
            "last_used_step": step,
            "backup_codes": backup_hashes,
            "enabled_at": now,
        }
        return self._update(
            account_id,
            {"$set": {"totp": totp}},
            now,
            **{"totp.pending": pending, "totp.enabled": {"$ne": True}},
        )

    def disable_totp(self, account_id: str, now: dt.datetime) -> Doc | None:
        return self._update(account_id, {"$unset": {"totp": ""}}, now)

    def use_totp_step(self, account_id: str, step: int) -> bool:
        """Record `step` as used, only if it is newer than the last one (replay-safe under races)."""
        result = self.col.update_one(
            {
                "_id": account_id,
                "totp.enabled": True,
                "$or": [{"totp.last_used_step": None}, {"totp.last_used_step": {"$lt": step}}],
            },
            {"$set": {"totp.last_used_step": step}},
        )
        return result.modified_count == 1

    def spend_backup_code(self, account_id: str, index: int, old_hash: str) -> bool:
        """Null slot `index`, only if it still holds `old_hash`: two logins cannot share one code."""
        slot = f"totp.backup_codes.{index}"
        result = self.col.update_one({"_id": account_id, slot: old_hash}, {"$set": {slot: None}})
        return result.modified_count == 1

    def replace_backup_codes(self, account_id: str, hashes: list[str], now: dt.datetime) -> Doc | None:
        return self._update(
            account_id, {"$set": {"totp.backup_codes": hashes}}, now, **{"totp.enabled": True}
        )

    def replace_totp_secret(self, account_id: str, old: bytes, new: bytes) -> bool:
        """Store a re-encrypted seed, only if the stored one is still `old` (not changed meanwhile)."""
        result = self.col.update_one({"_id": account_id, "totp.secret": old}, {"$set": {"totp.secret": new}})
        return result.modified_count == 1

    def with_totp(self, batch_size: int = 100) -> Cursor:
        """Every account with a stored TOTP seed (for re-encryption after a key rotation)."""
        return self.col.find({"totp.secret": {"$type": "binData"}}, {"totp.secret": 1}, batch_size=batch_size)
