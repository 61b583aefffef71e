"""Database contract, svccommon.audit: time windows, pages after a cursor, retention by TTL index. Why
the contract exists and how known defects of the embedded database are handled:
support/db_contract.py; fixtures: conftest.py here."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure
from support.db_contract import ACCOUNT, NEWEST_FIRST, OTHER, known_defect, now_ms
from svccommon.audit import TTL_INDEX, AuditLog, _just_before

# --- svccommon.audit: windows, pages, retention ------------------------------------------------


@pytest.fixture()
def audit_events(db: Database) -> tuple[Collection, list[dict[str, Any]], dt.datetime]:
    """audit_events with AuditLog's indexes; 2 events per millisecond-distinct time, two accounts."""
    AuditLog(db, "contract").ensure_indexes()
    col = db["audit_events"]
    base = now_ms() - dt.timedelta(days=1)
    docs = [
        {
            "_id": f"{account}:{uuid.UUID(int=i).hex}",
            "account_id": account,
            "at": base + dt.timedelta(milliseconds=250 * (i // 2)),
            "action": ("credential.create", "credential.reveal", "sync.start", "credentials")[i % 4],
            "outcome": ("success", "failure")[i % 5 == 0],
        }
        for account in (ACCOUNT, OTHER)
        for i in range(80)
    ]
    col.insert_many(docs)
    return col, docs, base


def test_audit_window_gt_just_before_and_lt(audit_events):
    """svccommon.audit (AuditLog.page): the window {at: {$gt: _just_before(since), $lt: until}}
    sorted newest first holds the events at exactly `since` and none at `until`; with the action
    $or ($in + prefix $regex) and outcome filters under $and."""
    col, docs, base = audit_events
    since, until = base + dt.timedelta(seconds=2), base + dt.timedelta(seconds=7)
    query = {"account_id": ACCOUNT, "at": {"$gt": _just_before(since), "$lt": until}}
    got = [(d["at"], d["_id"]) for d in col.find(query).sort(NEWEST_FIRST)]
    mine = [d for d in docs if d["account_id"] == ACCOUNT]
    want = sorted(((d["at"], d["_id"]) for d in mine if since <= d["at"] < until), reverse=True)
    assert got == want and got[-1][0] == since

    actions = {"$or": [{"action": {"$in": ["credential"]}}, {"action": {"$regex": "^credential\\."}}]}
    filtered = {**query, "outcome": "success", "$and": [actions]}
    got = [d["_id"] for d in col.find(filtered).sort(NEWEST_FIRST)]
    want_ids = [
        i
        for at, i in want
        for d in mine
        if d["_id"] == i and d["action"].startswith("credential.") and d["outcome"] == "success"
    ]
    assert got == want_ids and got


def test_audit_pages_after_cursor(audit_events):
    """svccommon.audit (AuditLog.page): pages of 9 newest first, the cursor as $and: [{$or:
    [{at: {$lt}}, {at, _id: {$lt}}]}] inside a time window; every event once, in order."""
    col, docs, base = audit_events
    since = base + dt.timedelta(seconds=1)
    window = {"account_id": ACCOUNT, "at": {"$gt": _just_before(since)}}
    want = sorted(
        ((d["at"], d["_id"]) for d in docs if d["account_id"] == ACCOUNT and d["at"] >= since), reverse=True
    )
    seen: list[tuple[dt.datetime, str]] = []
    after: tuple[dt.datetime, str] | None = None
    while True:
        query = dict(window)
        if after is not None:
            query["$and"] = [{"$or": [{"at": {"$lt": after[0]}}, {"at": after[0], "_id": {"$lt": after[1]}}]}]
        page = [(d["at"], d["_id"]) for d in col.find(query).sort(NEWEST_FIRST).limit(9)]
        seen += page
        if len(page) < 9:
            break
        after = page[-1]
    assert seen == want


def test_audit_gte_on_descending_index(audit_events, request, secantus):
    """svccommon.audit canary: {account_id, at: {$gte: since}} sorted newest first, on the index
    (account_id, at desc, _id desc). SecantusDB 0.7.0b3 treats that $gte as $gt (the events at
    exactly `since` go missing), which is why AuditLog.page asks for $gt _just_before(since).
    When this XPASSes, _just_before can go."""
    col, docs, base = audit_events
    known_defect(request, secantus, "$gte on a descending compound-index field behaves as $gt")
    since = base + dt.timedelta(seconds=2)
    query = {"account_id": ACCOUNT, "at": {"$gte": since}}
    got = [(d["at"], d["_id"]) for d in col.find(query).sort(NEWEST_FIRST)]
    want = sorted(
        ((d["at"], d["_id"]) for d in docs if d["account_id"] == ACCOUNT and d["at"] >= since), reverse=True
    )
    assert got == want


def set_ttl_monitor(client: MongoClient, seconds: int) -> int | None:
    """A real mongod sweeps TTL indexes every 60 s; ask for 1 s. The previous value, or None
    when the server does not take it (SecantusDB sweeps every TTL_SWEEP_SECONDS itself)."""
    try:
        old = client.admin.command("getParameter", 1, ttlMonitorSleepSecs=1)["ttlMonitorSleepSecs"]
        client.admin.command("setParameter", 1, ttlMonitorSleepSecs=seconds)
    except (OperationFailure, KeyError):
        return None
    return int(old)


def test_ttl_indexes_expire_documents(client, db):
    """svccommon.audit (retention_ttl, and its collMod when AUDIT_RETENTION_DAYS changes),
    auth.store sessions/tokens/counters (expiry_ttl, expireAfterSeconds=0) and auth.store.stripe_events
    (retention_ttl): the TTL monitor deletes expired documents and keeps the others."""
    now = now_ms()
    created = db["audit_created"]
    created.create_index("at", expireAfterSeconds=3600, name=TTL_INDEX)
    changed = db["audit_changed"]
    changed.create_index("at", expireAfterSeconds=365 * 86400, name=TTL_INDEX)
    # The command AuditLog.ensure_retention sends; its drop-and-create fallback is not needed.
    db.command("collMod", changed.name, index={"name": TTL_INDEX, "expireAfterSeconds": 3600})
    assert changed.index_information()[TTL_INDEX]["expireAfterSeconds"] == 3600
    expiring = db["expiring"]
    expiring.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")
    old, new = now - dt.timedelta(hours=2), now
    for col in (created, changed):
        col.insert_many([{"_id": "old", "at": old}, {"_id": "new", "at": new}])
    expiring.insert_many(
        [
            {"_id": "old", "expires_at": now - dt.timedelta(seconds=1)},
            {"_id": "new", "expires_at": now + dt.timedelta(hours=1)},
            {"_id": "none"},  # auth's verified accounts have no unverified_expires_at: never deleted
        ]
    )
    previous = set_ttl_monitor(client, 1)
    try:
        deadline = time.monotonic() + 75
        while True:
            left = [sorted(d["_id"] for d in col.find()) for col in (created, changed, expiring)]
            if left == [["new"], ["new"], ["new", "none"]] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        if previous is not None:
            set_ttl_monitor(client, previous)
    assert left == [["new"], ["new"], ["new", "none"]]
