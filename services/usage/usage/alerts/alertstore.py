"""The `alerts` collection (alert history) and `alert_mutes` (budgets and series muted for a while).

An alert's `_id` is a digest of what makes it unique (the budget, period and threshold; or the
anomaly's kind, series and day), so inserting it is the deduplication: across replicas and
restarts, only the first insert of the same alert succeeds and only that one is delivered."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from usage.alerts.paging import newest_first


def alert_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.alerts = db["alerts"]
        self.mutes = db["alert_mutes"]

    def ensure_indexes(self) -> None:
        self.alerts.create_index([("account_id", 1), ("fired_at", DESCENDING), ("_id", DESCENDING)])
        self.mutes.create_index("expires_at", expireAfterSeconds=0)

    def fire(self, doc: dict[str, Any]) -> bool:
        """Insert a new alert; False when the same alert was fired before (by any replica)."""
        doc = {**doc, "amount_usd": Decimal128(doc["amount_usd"])}
        try:
            self.alerts.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def exists(self, account_id: str, alert: str) -> bool:
        return self.alerts.count_documents({"_id": alert, "account_id": account_id}, limit=1) > 0

    def get(self, account_id: str, alert: str) -> dict[str, Any] | None:
        return self.alerts.find_one({"_id": alert, "account_id": account_id})

    def page(self, account_id: str, limit: int, cursor: str, unacknowledged: bool) -> tuple[list[dict], str]:
        query: dict[str, Any] = {"account_id": account_id}
        if unacknowledged:
            query["acknowledged_at"] = None
        return newest_first(self.alerts, query, limit, cursor)

    def acknowledge(self, account_id: str, alert: str, now: dt.datetime) -> dict[str, Any] | None:
        self.alerts.update_one(
            {"_id": alert, "account_id": account_id, "acknowledged_at": None},
            {"$set": {"acknowledged_at": now}},
        )
        return self.get(account_id, alert)

    def set_deliveries(self, account_id: str, alert: str, state: str) -> None:
        self.alerts.update_one({"_id": alert, "account_id": account_id}, {"$set": {"deliveries": state}})

    def forget_budget(self, account_id: str, budget_id: str) -> None:
        self.mutes.delete_one({"_id": f"{account_id}|budget:{budget_id}"})

    def mute(self, account_id: str, subject: str, until: dt.datetime) -> dt.datetime:
        self.mutes.update_one(
            {"_id": f"{account_id}|{subject}"},
            {"$set": {"account_id": account_id, "until": until, "expires_at": until}},
            upsert=True,
        )
        return until

    def muted_until(self, account_id: str, subject: str, now: dt.datetime) -> dt.datetime | None:
        doc = self.mutes.find_one({"_id": f"{account_id}|{subject}"})
        if doc is None:
            return None
        until = doc["until"]
        until = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
        return until if until > now else None
