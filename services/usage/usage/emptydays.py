"""Days a provider answered empty while records were stored: the first such answer keeps the
stored records; a second one, in a later run, confirms the day is empty and erases them.

One small document per (account, credential, day) in ``usage_empty_days``, written when a sync
keeps a day and deleted when the day is replaced (by a non-empty answer or the confirming empty
one) or the credential's records are deleted. It persists across runs and restarts; only the
credential's own runs read or write it, and a credential has one running run at a time
(``runstore``), so there is no race between two writers of one mark.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database


class EmptyDays:
    def __init__(self, db: Database) -> None:
        self.marks: Collection = db["usage_empty_days"]

    def ensure_indexes(self) -> None:
        self.marks.create_index(
            [("account_id", ASCENDING), ("credential_id", ASCENDING), ("date", ASCENDING)], unique=True
        )

    def between(self, account_id: str, credential_id: str, first: dt.date, last: dt.date) -> dict[str, str]:
        """The marked days of ``first..last``: day -> id of the run that first saw it empty."""
        query = {
            "account_id": account_id,
            "credential_id": credential_id,
            "date": {"$gte": first.isoformat(), "$lt": (last + dt.timedelta(days=1)).isoformat()},
        }
        return {doc["date"]: doc["run_id"] for doc in self.marks.find(query, {"date": 1, "run_id": 1})}

    def mark(self, account_id: str, credential_id: str, day: dt.date, run_id: str, now: dt.datetime) -> None:
        key: dict[str, Any] = {
            "account_id": account_id,
            "credential_id": credential_id,
            "date": day.isoformat(),
        }
        self.marks.update_one(
            key, {"$setOnInsert": {**key, "run_id": run_id, "first_empty_at": now}}, upsert=True
        )

    def clear(self, account_id: str, credential_id: str, day: dt.date) -> None:
        self.marks.delete_one(
            {"account_id": account_id, "credential_id": credential_id, "date": day.isoformat()}
        )

    def forget(self, account_id: str, credential_id: str) -> None:
        self.marks.delete_many({"account_id": account_id, "credential_id": credential_id})
