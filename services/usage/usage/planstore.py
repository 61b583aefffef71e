"""Plans in the usage service's database: `account_plans` (each account's plan as usage last
heard it from auth: the reconciler's plan changes, or a StartSync that carried it) and the plan
fields of `sync_targets` (paused, pause_message, history_days), which the scheduler reads
(RunStore.claim_due_target skips paused targets)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database


class PlanStore:
    def __init__(self, db: Database) -> None:
        self.plans: Collection = db["account_plans"]
        self.targets: Collection = db["sync_targets"]

    def ensure_indexes(self) -> None:
        pass  # account_plans is keyed by _id; sync_targets' (account_id, credential_id) index is RunStore's

    def set_plan(self, account_id: str, plan: str, now: dt.datetime) -> None:
        self.plans.update_one({"_id": account_id}, {"$set": {"plan": plan, "updated_at": now}}, upsert=True)

    def plan_of(self, account_id: str) -> str | None:
        doc = self.plans.find_one({"_id": account_id})
        return doc["plan"] if doc else None

    def targets_of(self, account_id: str) -> list[dict[str, Any]]:
        """The account's sync targets, oldest first (the ones a plan limit keeps syncing)."""
        cursor = self.targets.find({"account_id": account_id}).sort(
            [("registered_at", ASCENDING), ("credential_id", ASCENDING)]
        )
        return list(cursor)

    def set_limits(
        self,
        account_id: str,
        history_days: int,
        paused: dict[str, str],
        resumed: list[str],
        now: dt.datetime,
    ) -> None:
        """History for every target of the account; pause `paused` (credential id -> why) and
        resume `resumed` (due at once, so a resumed key catches up without waiting an interval)."""
        self.targets.update_many({"account_id": account_id}, {"$set": {"history_days": history_days}})
        for credential_id, message in paused.items():
            self.targets.update_one(
                {"account_id": account_id, "credential_id": credential_id},
                {"$set": {"paused": True, "pause_message": message, "paused_at": now}},
            )
        if resumed:
            self.targets.update_many(
                {"account_id": account_id, "credential_id": {"$in": resumed}},
                {"$set": {"paused": False, "pause_message": "", "next_sync_at": now}},
            )
