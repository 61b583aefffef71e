"""`alert_emails_sent`: which address already got the alert email of which idempotency key, so a
retried SendAlertEmail never mails an address twice. `_id` is "<key>|<address lookup key>"; a
document is written only after the mail provider accepted the message, and the TTL monitor removes
it after KEEP_S (usage retries an alert for far less than that)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

KEEP_S = 3 * 86400


def sent_id(key: str, address_key: str) -> str:
    return f"{key}|{address_key}"


class AlertEmailLog:
    def __init__(self, db: Database) -> None:
        self.col: Collection = db["alert_emails_sent"]

    def ensure_indexes(self) -> None:
        self.col.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")

    def already_sent(self, key: str, address_keys: Iterable[str]) -> set[str]:
        """The address keys among `address_keys` that the alert `key` was already mailed to."""
        ids = [sent_id(key, a) for a in address_keys]
        found = self.col.find({"_id": {"$in": ids}}, {"_id": 1})
        return {doc["_id"].rsplit("|", 1)[1] for doc in found}

    def mark_sent(self, key: str, address_key: str, account_id: str, now: dt.datetime) -> None:
        doc = {
            "_id": sent_id(key, address_key),
            "account_id": account_id,
            "sent_at": now,
            "expires_at": now + dt.timedelta(seconds=KEEP_S),
        }
        # DuplicateKeyError: a concurrent call with the same key mailed it too; the record stands.
        with contextlib.suppress(DuplicateKeyError):
            self.col.insert_one(doc)
