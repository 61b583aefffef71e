"""Sync targets in Mongo (`sync_targets`): the credentials synced on a schedule, one document per
(account, credential). The only module that writes them: the sync path registers, advances and
forgets a target; the plan path (usage.accountplans) sets its history and pauses or resumes it;
the scheduler claims the next due one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database


class TargetStore:
    def __init__(self, db: Database) -> None:
        self.targets: Collection = db["sync_targets"]

    def ensure_indexes(self) -> None:
        self.targets.create_index([("account_id", ASCENDING), ("credential_id", ASCENDING)], unique=True)
        self.targets.create_index([("status", ASCENDING), ("next_sync_at", ASCENDING)])

    def register(
        self, account_id: str, credential_id: str, platform: str, next_sync_at: dt.datetime, now: dt.datetime
    ) -> None:
        self.targets.update_one(
            {"account_id": account_id, "credential_id": credential_id},
            {
                "$set": {"platform": platform, "status": "active", "next_sync_at": next_sync_at},
                "$setOnInsert": {"registered_at": now, "synced_until": None, "retry_from": None},
            },
            upsert=True,
        )

    def get(self, account_id: str, credential_id: str) -> dict[str, Any] | None:
        return self.targets.find_one({"account_id": account_id, "credential_id": credential_id})

    def update(self, account_id: str, credential_id: str, fields: dict[str, Any]) -> None:
        self.targets.update_one({"account_id": account_id, "credential_id": credential_id}, {"$set": fields})

    def forget(self, account_id: str, credential_id: str) -> bool:
        result = self.targets.delete_one({"account_id": account_id, "credential_id": credential_id})
        return result.deleted_count == 1

    def claim_due(self, now: dt.datetime, interval: dt.timedelta) -> dict[str, Any] | None:
        """One active target whose next sync is due, pushed one interval ahead (atomic: one replica wins).
        Targets the account's plan pauses (usage.accountplans) are skipped."""
        return self.targets.find_one_and_update(
            {"status": "active", "paused": {"$ne": True}, "next_sync_at": {"$lte": now}},
            {"$set": {"next_sync_at": now + interval}},
            sort=[("next_sync_at", ASCENDING)],
            return_document=ReturnDocument.BEFORE,
        )

    def of_account(self, account_id: str) -> list[dict[str, Any]]:
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
