"""Database contract, usage.runstore and usage.planstore (and parser.store's pages): the sync queue,
newest-first pages, sync targets and plan limits. Why the contract exists and how known defects of
the embedded database are handled: support/db_contract.py; fixtures: conftest.py here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from parser.store import UploadStore
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError
from support.db_contract import ACCOUNT, DAYS, DUPLICATE_KEY, FIRST, LAST, OTHER, now_ms
from usage.runstore import RunStore

# --- usage.runstore and usage.planstore: the sync queue and targets -----------------------------


def run_doc(run_id: str, credential: str, queued_at: dt.datetime, status: str = "queued") -> dict[str, Any]:
    return {
        "_id": run_id,
        "account_id": ACCOUNT,
        "credential_id": credential,
        "status": status,
        "queued_at": queued_at,
        "days": 0,
        "records": 0,
        "failed_days": [],
        "owner": "w0" if status == "running" else None,
        "heartbeat_at": queued_at if status == "running" else None,
        "attempts": 1 if status == "running" else 0,
    }


def test_run_queue_claim(db):
    """usage.runstore (claim): the oldest queued ids (sort + limit + projection; optionally passing
    over platforms with $nin and (account, platform) pairs with $nor), then an atomic
    find_one_and_update {_id, status: queued} with $set + $inc returning the new document; the
    partial unique index (one running run per credential) refuses a second running run of a
    credential with DuplicateKeyError, and a run already taken is not taken twice."""
    RunStore(db).ensure_indexes()
    runs = db["sync_runs"]
    t0 = now_ms() - dt.timedelta(minutes=10)
    runs.insert_many(
        [
            run_doc("r-busy", "cred-1", t0, status="running"),
            run_doc("r-3", "cred-3", t0 + dt.timedelta(seconds=3)),
            run_doc("r-1", "cred-1", t0 + dt.timedelta(seconds=1)),  # cred-1 is running: waits
            run_doc("r-2", "cred-2", t0 + dt.timedelta(seconds=2)),
        ]
    )
    candidates = [
        d for d in runs.find({"status": "queued"}, {"_id": 1}).sort("queued_at", ASCENDING).limit(20)
    ]
    assert candidates == [{"_id": "r-1"}, {"_id": "r-2"}, {"_id": "r-3"}]
    # A worker passing over the platforms and (account, platform) pairs its process is busy with:
    # platform $nin, and $nor over {account_id, platform} pairs.
    runs.update_many({}, {"$set": {"platform": "openai"}})
    runs.update_one({"_id": "r-2"}, {"$set": {"platform": "anthropic"}})
    passing_over = {
        "status": "queued",
        "platform": {"$nin": ["anthropic"]},
        "$nor": [{"account_id": "acct-other", "platform": "openai"}],
    }
    found = runs.find(passing_over, {"_id": 1}).sort("queued_at", ASCENDING).limit(20)
    assert list(found) == [{"_id": "r-1"}, {"_id": "r-3"}]
    account = runs.find_one({"_id": "r-1"})["account_id"]
    passing_over["$nor"] = [{"account_id": account, "platform": "openai"}]
    assert list(runs.find(passing_over, {"_id": 1})) == []
    now = now_ms()

    def claim(run_id: str) -> dict[str, Any] | None:
        return runs.find_one_and_update(
            {"_id": run_id, "status": "queued"},
            {
                "$set": {"status": "running", "owner": "w1", "started_at": now, "heartbeat_at": now},
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )

    with pytest.raises(DuplicateKeyError) as exc:
        claim("r-1")
    assert exc.value.code == DUPLICATE_KEY
    assert runs.find_one({"_id": "r-1"})["status"] == "queued"  # the refused update left no trace
    run = claim("r-2")
    assert (run["status"], run["owner"], run["attempts"], run["started_at"]) == ("running", "w1", 1, now)
    assert claim("r-2") is None


def test_run_progress_finish_release_and_requeue(db):
    """usage.runstore (progress, finish, release, requeue_stale, active_run): conditional
    updates with $inc / $push / $push $each, update_many over {_id: {$in}} with $inc -1, stale
    heartbeats ($lt) split by attempts ($gte), find_one with status $in sorted newest first."""
    RunStore(db).ensure_indexes()
    runs = db["sync_runs"]
    t0 = now_ms() - dt.timedelta(hours=1)
    runs.insert_many(
        [
            run_doc("a", "cred-a", t0, status="running"),
            run_doc("b", "cred-b", t0, status="running"),
            {**run_doc("c", "cred-c", t0, status="running"), "attempts": 3},
            run_doc("d", "cred-d", t0 + dt.timedelta(seconds=1), status="running"),
        ]
    )
    running = {"owner": "w0", "status": "running"}
    runs.update_one(
        {"_id": "a", **running}, {"$set": {"heartbeat_at": t0}, "$inc": {"days": 1, "records": 7}}
    )
    runs.update_one({"_id": "a", **running}, {"$push": {"failed_days": {"date": FIRST, "error": "x"}}})
    more = [{"date": LAST, "error": "y"}, {"date": DAYS[0], "error": "z"}]
    result = runs.update_one(
        {"_id": "a", **running},
        {
            "$set": {"status": "partial", "finished_at": t0, "owner": None},
            "$push": {"failed_days": {"$each": more}},
        },
    )
    assert result.modified_count == 1
    a = runs.find_one({"_id": "a"})
    assert (a["days"], a["records"], a["status"], a["owner"]) == (1, 7, "partial", None)
    assert [f["date"] for f in a["failed_days"]] == [FIRST, LAST, DAYS[0]]
    assert runs.update_one({"_id": "a", **running}, {"$set": {"status": "failed"}}).modified_count == 0

    released = runs.update_many(
        {"_id": {"$in": ["b", "zz"]}, **running},
        {"$set": {"status": "queued", "owner": None, "heartbeat_at": None}, "$inc": {"attempts": -1}},
    )
    assert released.modified_count == 1 and runs.find_one({"_id": "b"})["attempts"] == 0

    stale = {"status": "running", "heartbeat_at": {"$lt": t0 + dt.timedelta(milliseconds=500)}}
    failed = runs.update_many(
        {**stale, "attempts": {"$gte": 3}}, {"$set": {"status": "failed", "owner": None}}
    )
    requeued = runs.update_many(stale, {"$set": {"status": "queued", "owner": None, "heartbeat_at": None}})
    assert (failed.modified_count, requeued.modified_count) == (1, 0)  # d's heartbeat is newer
    assert runs.find_one({"_id": "c"})["status"] == "failed"

    runs.insert_one(run_doc("d2", "cred-d", t0 + dt.timedelta(seconds=5)))
    active = {"account_id": ACCOUNT, "credential_id": "cred-d", "status": {"$in": ["queued", "running"]}}
    assert runs.find_one(active, sort=[("queued_at", DESCENDING)])["_id"] == "d2"


@pytest.mark.parametrize(
    ("store", "collection", "field"),
    [(RunStore, "sync_runs", "queued_at"), (UploadStore, "uploads", "created_at")],
    ids=["usage.runstore", "parser.store"],
)
def test_newest_first_pages_after_cursor(db, store, collection, field):
    """usage.runstore (page), parser.store (page): newest first by (time, _id) on the index
    (account_id, time desc, _id desc); "after" is {$or: [{t: {$lt}}, {t, _id: {$lt}}]}; ties on
    the time are split by _id; every document once, in order."""
    store(db).ensure_indexes()
    col = db[collection]
    t0 = now_ms() - dt.timedelta(days=1)
    docs = [
        {
            "_id": f"{a}:{i:03d}",
            "account_id": a,
            "credential_id": "c",
            field: t0 + dt.timedelta(seconds=i // 3),
        }
        for a in (ACCOUNT, OTHER)
        for i in range(60)
    ]
    col.insert_many(docs)
    want = sorted(((d[field], d["_id"]) for d in docs if d["account_id"] == ACCOUNT), reverse=True)
    seen: list[tuple[dt.datetime, str]] = []
    after: tuple[dt.datetime, str] | None = None
    while True:
        query: dict[str, Any] = {"account_id": ACCOUNT}
        if after is not None:
            query["$or"] = [{field: {"$lt": after[0]}}, {field: after[0], "_id": {"$lt": after[1]}}]
        cursor = col.find(query).sort([(field, DESCENDING), ("_id", DESCENDING)]).limit(8)
        page = [(d[field], d["_id"]) for d in cursor]
        seen += page
        if len(page) < 8:
            break
        after = page[-1]
    assert seen == want


def test_due_target_claim_and_registration(db):
    """usage.targetstore (register, claim_due): $set + $setOnInsert upserts on the
    unique (account_id, credential_id); find_one_and_update with sort on next_sync_at,
    {$lte: now} inclusive, paused {$ne: true} matching a missing field, returning the old doc."""
    RunStore(db).ensure_indexes()
    targets = db["sync_targets"]
    now = now_ms()

    def register(credential: str, next_sync_at: dt.datetime, at: dt.datetime) -> None:
        targets.update_one(
            {"account_id": ACCOUNT, "credential_id": credential},
            {
                "$set": {"platform": "openai", "status": "active", "next_sync_at": next_sync_at},
                "$setOnInsert": {"registered_at": at, "synced_until": None, "retry_from": None},
            },
            upsert=True,
        )

    register("due-now", now, now - dt.timedelta(hours=2))
    register("due-now", now, now)  # again: registered_at stays the first one
    register("oldest", now - dt.timedelta(minutes=5), now)
    register("paused", now - dt.timedelta(minutes=9), now)
    register("later", now + dt.timedelta(seconds=1), now)
    targets.update_one({"credential_id": "paused"}, {"$set": {"paused": True}})
    first = targets.find_one({"credential_id": "due-now"})
    assert first["registered_at"] == now - dt.timedelta(hours=2) and first["synced_until"] is None
    assert targets.count_documents({}) == 4
    with pytest.raises(DuplicateKeyError):
        targets.insert_one({"account_id": ACCOUNT, "credential_id": "later"})

    interval = dt.timedelta(hours=6)

    def claim_due() -> dict[str, Any] | None:
        return targets.find_one_and_update(
            {"status": "active", "paused": {"$ne": True}, "next_sync_at": {"$lte": now}},
            {"$set": {"next_sync_at": now + interval}},
            sort=[("next_sync_at", ASCENDING)],
            return_document=ReturnDocument.BEFORE,
        )

    claimed = [claim_due(), claim_due(), claim_due()]
    assert [c and c["credential_id"] for c in claimed] == ["oldest", "due-now", None]
    assert claimed[0]["next_sync_at"] == now - dt.timedelta(minutes=5)  # the document before
    assert targets.find_one({"credential_id": "due-now"})["next_sync_at"] == now + interval


def test_plan_targets_and_limits(db):
    """usage.planstore (set_plan), usage.targetstore (of_account, set_limits): _id upsert of the plan, targets
    sorted by (registered_at, credential_id), update_many by account and by credential $in."""
    RunStore(db).ensure_indexes()
    plans, targets = db["account_plans"], db["sync_targets"]
    now = now_ms()
    for plan in ("free", "team"):
        plans.update_one({"_id": ACCOUNT}, {"$set": {"plan": plan, "updated_at": now}}, upsert=True)
    assert plans.find_one({"_id": ACCOUNT})["plan"] == "team" and plans.count_documents({}) == 1
    targets.insert_many(
        [
            {"account_id": ACCOUNT, "credential_id": c, "registered_at": now + dt.timedelta(seconds=s)}
            for c, s in (("c-b", 0), ("c-a", 0), ("c-old", -5), ("c-new", 5))
        ]
        + [{"account_id": OTHER, "credential_id": "c-x", "registered_at": now}]
    )
    order = targets.find({"account_id": ACCOUNT}).sort(
        [("registered_at", ASCENDING), ("credential_id", ASCENDING)]
    )
    assert [t["credential_id"] for t in order] == ["c-old", "c-a", "c-b", "c-new"]
    assert targets.update_many({"account_id": ACCOUNT}, {"$set": {"history_days": 30}}).modified_count == 4
    resumed = targets.update_many(
        {"account_id": ACCOUNT, "credential_id": {"$in": ["c-a", "c-x"]}},
        {"$set": {"paused": False, "pause_message": "", "next_sync_at": now}},
    )
    assert resumed.modified_count == 1
    assert "history_days" not in targets.find_one({"account_id": OTHER})
