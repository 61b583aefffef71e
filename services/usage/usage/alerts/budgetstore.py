"""The `budgets` collection: each account's budgets and their mute."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

from usage.alerts.budgets import BudgetSettings, Scope
from usage.recordstore import from_d128


def to_doc(s: BudgetSettings) -> dict[str, Any]:
    return {
        "name": s.name,
        "amount_usd": Decimal128(s.amount_usd),
        "period": s.period,
        "start_date": s.start_date.isoformat() if s.start_date else None,
        "end_date": s.end_date.isoformat() if s.end_date else None,
        "scope": {
            "kind": s.scope.kind,
            "platform": s.scope.platform,
            "model": s.scope.model,
            "credential_id": s.scope.credential_id,
        },
        "thresholds": list(s.thresholds),
        "forecast_thresholds": list(s.forecast_thresholds),
        "email_owner": s.email_owner,
        "emails": list(s.emails),
        "destination_ids": list(s.destination_ids),
    }


def settings_of(doc: dict[str, Any]) -> BudgetSettings:
    scope = doc.get("scope") or {}
    return BudgetSettings(
        name=doc["name"],
        amount_usd=from_d128(doc["amount_usd"]),
        period=doc.get("period", "monthly"),
        start_date=dt.date.fromisoformat(doc["start_date"]) if doc.get("start_date") else None,
        end_date=dt.date.fromisoformat(doc["end_date"]) if doc.get("end_date") else None,
        scope=Scope(
            scope.get("kind", "account"),
            scope.get("platform", ""),
            scope.get("model", ""),
            scope.get("credential_id", ""),
        ),
        thresholds=tuple(doc.get("thresholds") or ()),
        forecast_thresholds=tuple(doc.get("forecast_thresholds") or ()),
        email_owner=bool(doc.get("email_owner")),
        emails=tuple(doc.get("emails") or ()),
        destination_ids=tuple(doc.get("destination_ids") or ()),
    )


class BudgetStore:
    def __init__(self, db: Database) -> None:
        self.budgets = db["budgets"]

    def ensure_indexes(self) -> None:
        self.budgets.create_index([("account_id", ASCENDING), ("created_at", ASCENDING)])

    def create(self, account_id: str, settings: BudgetSettings, now: dt.datetime) -> dict[str, Any]:
        doc = {
            "_id": uuid.uuid4().hex,
            "account_id": account_id,
            **to_doc(settings),
            "created_at": now,
            "updated_at": now,
            "muted_until": None,
        }
        self.budgets.insert_one(doc)
        return doc

    def update(
        self, account_id: str, budget_id: str, settings: BudgetSettings, now: dt.datetime
    ) -> dict | None:
        return self.budgets.find_one_and_update(
            {"_id": budget_id, "account_id": account_id},
            {"$set": {**to_doc(settings), "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    def get(self, account_id: str, budget_id: str) -> dict[str, Any] | None:
        return self.budgets.find_one({"_id": budget_id, "account_id": account_id})

    def of_account(self, account_id: str) -> list[dict[str, Any]]:
        return list(self.budgets.find({"account_id": account_id}).sort([("created_at", ASCENDING)]))

    def count(self, account_id: str) -> int:
        return self.budgets.count_documents({"account_id": account_id})

    def delete(self, account_id: str, budget_id: str) -> bool:
        return self.budgets.delete_one({"_id": budget_id, "account_id": account_id}).deleted_count == 1

    def mute(self, account_id: str, budget_id: str, until: dt.datetime) -> None:
        self.budgets.update_one(
            {"_id": budget_id, "account_id": account_id}, {"$set": {"muted_until": until}}
        )

    def drop_destination(self, account_id: str, destination_id: str) -> None:
        self.budgets.update_many(
            {"account_id": account_id, "destination_ids": destination_id},
            {"$pull": {"destination_ids": destination_id}},
        )

    def accounts(self) -> list[str]:
        """Every account with a budget (the daily evaluation visits them)."""
        return [a for a in self.budgets.distinct("account_id")]
