"""Plans in the usage service's database: `account_plans`, each account's plan as usage last
heard it from auth (the reconciler's plan changes, or a StartSync that asked). The plan fields of
`sync_targets` (paused, pause_message, history_days) are written through `targets`
(usage.targetstore), which the scheduler reads (TargetStore.claim_due skips paused targets)."""

from __future__ import annotations

import datetime as dt

from pymongo.collection import Collection
from pymongo.database import Database

from usage.targetstore import TargetStore


class PlanStore:
    def __init__(self, db: Database) -> None:
        self.plans: Collection = db["account_plans"]
        self.targets = TargetStore(db)

    def ensure_indexes(self) -> None:
        pass  # account_plans is keyed by _id; sync_targets' indexes are TargetStore's

    def set_plan(self, account_id: str, plan: str, now: dt.datetime) -> None:
        self.plans.update_one({"_id": account_id}, {"$set": {"plan": plan, "updated_at": now}}, upsert=True)

    def plan_of(self, account_id: str) -> str | None:
        doc = self.plans.find_one({"_id": account_id})
        return doc["plan"] if doc else None
