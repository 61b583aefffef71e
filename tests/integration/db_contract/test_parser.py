"""Database contract, parser.store: AI calls since a time, and uploads. Why the contract exists and how
known defects of the embedded database are handled: support/db_contract.py; fixtures: conftest.py
here."""

from __future__ import annotations

import datetime as dt

from parser.store import UploadStore
from pymongo import ReturnDocument
from support.db_contract import ACCOUNT, OTHER, now_ms

# --- parser.store -------------------------------------------------------------------------------


def test_ai_calls_since_and_uploads(db):
    """parser.store (ai_calls_since, record_ai_call, find_same_content, update): count_documents
    {account_id, at: {$gte: since}} on (account_id, at) counts a call at exactly `since`;
    delete_many {at: {$lt}}; find_one with an {_id: 1} projection; find_one_and_update AFTER."""
    UploadStore(db).ensure_indexes()
    calls = db["ai_calls"]
    now = now_ms()
    calls.insert_many(
        [
            {"account_id": a, "at": now - dt.timedelta(hours=h)}
            for a in (ACCOUNT, OTHER)
            for h in (0, 1, 24, 72)
        ]
    )
    assert calls.count_documents({"account_id": ACCOUNT, "at": {"$gte": now - dt.timedelta(hours=24)}}) == 3
    assert calls.count_documents({"account_id": ACCOUNT, "at": {"$gte": now - dt.timedelta(hours=1)}}) == 2
    gone = calls.delete_many({"account_id": ACCOUNT, "at": {"$lt": now - dt.timedelta(days=2)}})
    assert gone.deleted_count == 1 and calls.count_documents({}) == 7

    uploads = db["uploads"]
    uploads.insert_many(
        [{"_id": f"u{i}", "account_id": ACCOUNT, "sha256": f"h{i % 2}", "created_at": now} for i in range(3)]
    )
    assert uploads.find_one({"account_id": ACCOUNT, "sha256": "h1"}, {"_id": 1}) == {"_id": "u1"}
    assert uploads.find_one({"account_id": OTHER, "sha256": "h1"}, {"_id": 1}) is None
    assert uploads.count_documents({"account_id": ACCOUNT}) == 3
    doc = uploads.find_one_and_update(
        {"_id": "u2", "account_id": ACCOUNT},
        {"$set": {"status": "parsed"}},
        return_document=ReturnDocument.AFTER,
    )
    assert doc["status"] == "parsed"
    assert uploads.find_one_and_update({"_id": "u2", "account_id": OTHER}, {"$set": {"status": "x"}}) is None
