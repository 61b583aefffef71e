"""Sync runs (a small job queue) in Mongo; the sync targets they serve are usage.targetstore's.

Runs move queued → running → succeeded | partial | failed. Any replica may claim a queued run;
the claim is one atomic update, and a partial unique index allows one running run per
credential, so two workers never write the same credential's days at once. A running run
carries its worker's ``owner`` id and a heartbeat; a run whose heartbeat is older than the
stale limit (its process died) is queued again, up to MAX_ATTEMPTS, then marked failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from usage.targetstore import TargetStore

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "partial", "failed")
MAX_ATTEMPTS = 3
INTERRUPTED = "The sync was interrupted {n} times (service restarts); start it again."


def backfill_run_id(credential_id: str) -> str:
    """The one id a credential's backfill run can have: whoever queues it first (the gateway's
    StartSync or any replica's reconciler) inserts it, every later attempt finds it."""
    return hashlib.sha256(f"backfill|{credential_id}".encode()).hexdigest()[:32]


def now_ms() -> dt.datetime:
    """Mongo keeps milliseconds: round here so cursors built from stored times match exactly."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class RunStore:
    def __init__(self, db: Database) -> None:
        self.runs: Collection = db["sync_runs"]
        self.targets = TargetStore(db)  # the credentials synced on a schedule

    def ensure_indexes(self) -> None:
        self.runs.create_index([("status", ASCENDING), ("queued_at", ASCENDING)])
        self.runs.create_index([("account_id", ASCENDING), ("queued_at", DESCENDING), ("_id", DESCENDING)])
        self.runs.create_index(
            [("account_id", ASCENDING), ("credential_id", ASCENDING), ("queued_at", DESCENDING)]
        )
        self.runs.create_index(
            "credential_id",
            unique=True,
            partialFilterExpression={"status": "running"},
            name="one_running_run_per_credential",
        )
        self.targets.ensure_indexes()

    # --- runs -------------------------------------------------------------------

    def enqueue(
        self,
        account_id: str,
        credential_id: str,
        platform: str,
        reason: str,
        first: dt.date,
        last: dt.date,
        now: dt.datetime,
        origin: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Queue a run; a backfill gets its credential's one backfill id, and if that run exists
        already (queued by someone else, even just now) it is returned instead."""
        backfill = reason == "backfill"
        run = {
            "_id": backfill_run_id(credential_id) if backfill else uuid.uuid4().hex,
            "account_id": account_id,
            "credential_id": credential_id,
            "platform": platform,
            "reason": reason,
            "status": "queued",
            "from_date": first.isoformat(),
            "to_date": last.isoformat(),
            "days": 0,
            "days_total": (last - first).days + 1,
            "records": 0,
            "error": "",
            "failed_days": [],
            "unavailable_days": [],  # [{from, to, reason}]: outside the provider's window, not failures
            "kept_days": [],  # [{date, reason}]: answered empty, stored records kept (usage.emptydays)
            "notice": "",
            "queued_at": now,
            "started_at": None,
            "finished_at": None,
            "owner": None,
            "heartbeat_at": None,
            "attempts": 0,
            # The request that queued the run (request id, client IP, user agent): the worker
            # carries it on, so its logs and audit events follow the same request id.
            "origin": origin or {},
        }
        try:
            self.runs.insert_one(run)
        except DuplicateKeyError:
            if not backfill:
                raise
            existing = self.runs.find_one({"_id": run["_id"]})
            if existing is None:  # pragma: no cover - runs are never deleted
                raise
            return existing
        return run

    def backfill_of(self, account_id: str, credential_id: str) -> dict[str, Any] | None:
        """The credential's backfill run, if one was ever queued (whatever its state now)."""
        return self.runs.find_one({"_id": backfill_run_id(credential_id)}) or self.runs.find_one(
            # queued before ids were derived; (account_id, credential_id, queued_at) serves it
            {"account_id": account_id, "credential_id": credential_id, "reason": "backfill"}
        )

    def active_run(self, account_id: str, credential_id: str) -> dict[str, Any] | None:
        query = {"account_id": account_id, "credential_id": credential_id, "status": {"$in": list(ACTIVE)}}
        return self.runs.find_one(query, sort=[("queued_at", DESCENDING)])

    def claim(
        self,
        owner: str,
        now: dt.datetime,
        scan: int = 20,
        skip_platforms: Iterable[str] = (),
        skip_account_platforms: Iterable[tuple[str, str]] = (),
    ) -> dict[str, Any] | None:
        """Atomically take the oldest queued run whose credential has no running run, passing over
        runs of the platforms and (account, platform) pairs the caller has enough workers on."""
        query: dict[str, Any] = {"status": "queued"}
        if skip_platforms:
            query["platform"] = {"$nin": sorted(skip_platforms)}
        pairs = [{"account_id": a, "platform": p} for a, p in sorted(skip_account_platforms)]
        if pairs:
            query["$nor"] = pairs
        for candidate in self.runs.find(query, {"_id": 1}).sort("queued_at", ASCENDING).limit(scan):
            try:
                run = self.runs.find_one_and_update(
                    {"_id": candidate["_id"], "status": "queued"},
                    {
                        "$set": {"status": "running", "owner": owner, "started_at": now, "heartbeat_at": now},
                        "$inc": {"attempts": 1},
                    },
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue  # this credential is being synced right now; it waits its turn
            if run is not None:
                return run
        return None

    def progress(
        self,
        run_id: str,
        owner: str,
        now: dt.datetime,
        *,
        records: int = 0,
        failed: tuple[str, str] | None = None,
        kept: tuple[str, str] | None = None,
    ) -> None:
        update: dict[str, Any] = {"$set": {"heartbeat_at": now}}
        if failed is not None:
            update["$push"] = {"failed_days": {"date": failed[0], "error": failed[1]}}
        else:
            update["$inc"] = {"days": 1, "records": records}
            if kept is not None:
                update["$push"] = {"kept_days": {"date": kept[0], "reason": kept[1]}}
        self.runs.update_one({"_id": run_id, "owner": owner, "status": "running"}, update)

    def finish(
        self,
        run_id: str,
        owner: str,
        status: str,
        error: str,
        now: dt.datetime,
        failed_days: Iterable[tuple[str, str]] = (),
        unavailable: Iterable[dict[str, str]] = (),
        notice: str = "",
    ) -> bool:
        update: dict[str, Any] = {
            "$set": {
                "status": status,
                "error": error,
                "finished_at": now,
                "owner": None,
                "unavailable_days": list(unavailable),
                "notice": notice,
            }
        }
        more = [{"date": day, "error": message} for day, message in failed_days]
        if more:
            update["$push"] = {"failed_days": {"$each": more}}
        result = self.runs.update_one({"_id": run_id, "owner": owner, "status": "running"}, update)
        return result.modified_count == 1

    def release(self, run_ids: Iterable[str], owner: str) -> int:
        """Give runs back to the queue (this process is stopping); their stored days stay."""
        result = self.runs.update_many(
            {"_id": {"$in": list(run_ids)}, "owner": owner, "status": "running"},
            {"$set": {"status": "queued", "owner": None, "heartbeat_at": None}, "$inc": {"attempts": -1}},
        )
        return result.modified_count

    def heartbeat(self, owner: str, now: dt.datetime) -> None:
        self.runs.update_many({"owner": owner, "status": "running"}, {"$set": {"heartbeat_at": now}})

    def requeue_stale(self, older_than: dt.datetime, now: dt.datetime) -> tuple[int, int]:
        """Runs whose worker died: queue them again, or fail them after MAX_ATTEMPTS."""
        stale = {"status": "running", "heartbeat_at": {"$lt": older_than}}
        failed = self.runs.update_many(
            {**stale, "attempts": {"$gte": MAX_ATTEMPTS}},
            {
                "$set": {
                    "status": "failed",
                    "error": INTERRUPTED.format(n=MAX_ATTEMPTS),
                    "finished_at": now,
                    "owner": None,
                }
            },
        ).modified_count
        requeued = self.runs.update_many(
            stale, {"$set": {"status": "queued", "owner": None, "heartbeat_at": None}}
        ).modified_count
        return requeued, failed

    def cancel_queued(self, account_id: str, credential_id: str, error: str, now: dt.datetime) -> int:
        result = self.runs.update_many(
            {"account_id": account_id, "credential_id": credential_id, "status": "queued"},
            {"$set": {"status": "failed", "error": error, "finished_at": now}},
        )
        return result.modified_count

    def get(self, account_id: str, run_id: str) -> dict[str, Any] | None:
        return self.runs.find_one({"_id": run_id, "account_id": account_id})

    def page(
        self, account_id: str, credential_id: str, limit: int, after: tuple[dt.datetime, str] | None
    ) -> list[dict[str, Any]]:
        """Newest first; ``after`` is the (queued_at, id) of the previous page's last run."""
        query: dict[str, Any] = {"account_id": account_id}
        if credential_id:
            query["credential_id"] = credential_id
        if after is not None:
            query["$or"] = [
                {"queued_at": {"$lt": after[0]}},
                {"queued_at": after[0], "_id": {"$lt": after[1]}},
            ]
        cursor = self.runs.find(query).sort([("queued_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return list(cursor)
