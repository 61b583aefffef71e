"""The `alert_settings` collection: each account's anomaly detection settings (one document)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson.decimal128 import Decimal128
from pymongo.database import Database

from usage.alerts.settings import AlertSettings
from usage.recordstore import from_d128


class SettingsStore:
    def __init__(self, db: Database) -> None:
        self.settings = db["alert_settings"]

    def ensure_indexes(self) -> None:
        self.settings.create_index("anomalies_enabled")

    def get(self, account_id: str) -> AlertSettings:
        doc = self.settings.find_one({"_id": account_id})
        if doc is None:
            return AlertSettings()
        return AlertSettings(
            anomalies_enabled=bool(doc.get("anomalies_enabled")),
            sensitivity=doc.get("sensitivity", "normal"),
            min_usd=from_d128(doc.get("min_usd", Decimal128("20"))),
            email_owner=bool(doc.get("email_owner", True)),
            emails=tuple(doc.get("emails") or ()),
            destination_ids=tuple(doc.get("destination_ids") or ()),
        )

    def put(self, account_id: str, s: AlertSettings, now: dt.datetime) -> None:
        doc: dict[str, Any] = {
            "anomalies_enabled": s.anomalies_enabled,
            "sensitivity": s.sensitivity,
            "min_usd": Decimal128(s.min_usd),
            "email_owner": s.email_owner,
            "emails": list(s.emails),
            "destination_ids": list(s.destination_ids),
            "updated_at": now,
        }
        self.settings.update_one({"_id": account_id}, {"$set": doc}, upsert=True)

    def enabled_accounts(self) -> list[str]:
        return [d["_id"] for d in self.settings.find({"anomalies_enabled": True}, {"_id": 1})]

    def drop_destination(self, account_id: str, destination_id: str) -> None:
        self.settings.update_one({"_id": account_id}, {"$pull": {"destination_ids": destination_id}})
