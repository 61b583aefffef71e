"""Database contract, keyvault.store (and auth's repeated-event counters and encrypted-field census):
credential and secret use, census and seal floor. Why the contract exists and how known defects of
the embedded database are handled: support/db_contract.py; fixtures: conftest.py here."""

from __future__ import annotations

import datetime as dt
import threading

from auth.store.accounts import EncryptedFields
from auth.store.webhook_failures import WebhookFailureCounter
from bson.binary import Binary
from keyvault.store import CredentialStore
from support.db_contract import ACCOUNT, OTHER, now_ms
from svccommon.audit import AuditLog

# --- keyvault.store -----------------------------------------------------------------------------


def test_keyvault_credential_and_secret_use_shapes(db):
    """keyvault.store: count per account, $group count by key_version, {key_version: {$ne}} ids
    sorted, compare-and-set on a Binary ciphertext, $set + $setOnInsert upsert keeping
    first_seen_at, a find with {_id: 0} sorted by caller."""
    CredentialStore(db).ensure_indexes()
    creds, use = db["credentials"], db["secret_key_use"]
    now = now_ms()
    creds.insert_many(
        [
            {"_id": f"c{i}", "account_id": ACCOUNT if i < 4 else OTHER, "ciphertext": Binary(bytes([i]) * 8),
             "key_version": 1 + (i % 2), "created_at": now + dt.timedelta(seconds=i)}
            for i in range(6)
        ]
    )  # fmt: skip
    assert creds.count_documents({"account_id": ACCOUNT}) == 4
    counts = {
        r["_id"]: r["n"] for r in creds.aggregate([{"$group": {"_id": "$key_version", "n": {"$sum": 1}}}])
    }
    assert counts == {1: 3, 2: 3}
    assert [d for d in creds.find({"key_version": {"$ne": 2}}, {"_id": 1}).sort("_id", 1)] == [
        {"_id": "c0"},
        {"_id": "c2"},
        {"_id": "c4"},
    ]
    order = creds.find({"account_id": ACCOUNT}).sort([("created_at", 1), ("_id", 1)])
    assert [d["_id"] for d in order] == ["c0", "c1", "c2", "c3"]

    def swap(expected: bytes) -> int:
        return creds.update_one(
            {"_id": "c1", "ciphertext": Binary(expected)},
            {"$set": {"ciphertext": Binary(b"new"), "key_version": 3}},
        ).modified_count

    assert [swap(bytes([1]) * 8), swap(bytes([1]) * 8)] == [1, 0]
    assert bytes(creds.find_one({"_id": "c1"})["ciphertext"]) == b"new"

    for caller, at in (("usage", now), ("auth", now), ("usage", now + dt.timedelta(minutes=1))):
        use.update_one(
            {"_id": f"{caller}|totp|2"},
            {
                "$set": {"caller": caller, "purpose": "totp", "key_version": 2, "last_seen_at": at},
                "$setOnInsert": {"first_seen_at": at},
            },
            upsert=True,
        )
    rows = list(use.find({"key_version": 2}, {"_id": 0}).sort("caller", 1))
    assert [(r["caller"], r["first_seen_at"], r["last_seen_at"]) for r in rows] == [
        ("auth", now, now),
        ("usage", now, now + dt.timedelta(minutes=1)),
    ]
    assert all("_id" not in r for r in rows)


def test_keyvault_census_and_seal_floor_shapes(db):
    """keyvault.store: a census deletes {caller, purpose, key_version: {$nin}, last_seen_at: {$lt}},
    $unset on the rest, $set + $setOnInsert upserts of the counted versions; the seal floor is a
    $max + $set upsert that never lowers it."""
    store = CredentialStore(db)
    now = now_ms()
    earlier = now - dt.timedelta(minutes=5)
    for version, at in ((1, earlier), (2, earlier), (3, now)):
        store.note_secret_use("auth", "totp_secret", version, at)
    store.note_secret_use("other", "totp_secret", 1, earlier)  # another owner: untouched
    store.apply_census("auth", "totp_secret", now - dt.timedelta(seconds=1), {2: 4, 1: 0}, now)
    rows = {(r["caller"], r["key_version"]): r for r in db["secret_key_use"].find({}, {"_id": 0})}
    assert set(rows) == {("auth", 2), ("auth", 3), ("other", 1)}
    assert rows[("auth", 2)]["census_count"] == 4 and rows[("auth", 2)]["census_at"] == now
    assert "census_count" not in rows[("auth", 3)]  # seen since the census started
    store.apply_census("auth", "totp_secret", now + dt.timedelta(seconds=1), {3: 1}, now)
    assert [r["key_version"] for r in store.secret_use_of(3)] == [3]
    assert store.secret_use_of(2) == []

    assert store.seal_floor() == 0
    assert store.raise_seal_floor(3, now) == 3
    assert store.raise_seal_floor(2, now) == 3


def test_repeated_audit_events_and_webhook_failure_counters(db):
    """svccommon.audit.record_repeated: one upsert with $setOnInsert of dotted details fields,
    $inc details.count and $set details.last_at (sibling paths under one document), including
    first upserts racing; auth.store.webhook_failures: $inc + $setOnInsert upsert and a find_one
    with a projection."""
    audit = AuditLog(db, "auth")
    audit.ensure_indexes()
    for _ in range(3):
        audit.record_repeated(
            "billing.webhook", key="bad|n1", window_s=3600, actor="anonymous", details={"reason": "bad"}
        )
    audit.record_repeated("billing.webhook", key="bad|n2", window_s=3600, details={"reason": "bad"})
    events = {e["details"]["count"]: e for e in db["audit_events"].find({"action": "billing.webhook"})}
    assert set(events) == {3, 1}
    three = events[3]
    assert three["details"]["reason"] == "bad" and three["details"]["window_seconds"] == 3600
    assert three["details"]["last_at"] >= three["at"] and three["actor"] == "anonymous"
    assert len(three["_id"]) == 32 and three["outcome"] == "denied"

    start = threading.Barrier(4)

    def repeat() -> None:
        start.wait()
        audit.record_repeated("billing.webhook", key="race", window_s=3600, details={"reason": "r"})

    racers = [threading.Thread(target=repeat) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    (raced,) = db["audit_events"].find({"details.reason": "r"})
    assert raced["details"]["count"] == 4

    counter = WebhookFailureCounter(db)
    counter.ensure_indexes()
    window = now_ms().replace(second=0, microsecond=0)
    for _ in range(3):
        counter.add("203.0.113.0/24", window, window + dt.timedelta(minutes=1))
    assert counter.count("203.0.113.0/24", window) == 3
    assert counter.count("198.51.100.0/24", window) == 0
    assert counter.count("203.0.113.0/24", window + dt.timedelta(minutes=1)) == 0


def test_encrypted_field_census_of_auth(db):
    """auth.store.accounts.secrets: {$or: [{field: {$type: binData}}]} over two nested fields with a
    projection of both, and a compare-and-set on one nested Binary field."""
    accounts = db["accounts"]
    accounts.insert_many(
        [
            {"_id": "a1", "totp": {"secret": b"s1", "pending": None}},
            {"_id": "a2", "totp": {"pending": b"p2"}},
            {"_id": "a3", "totp": {"secret": b"s3", "pending": b"p3"}},
            {"_id": "a4", "email": "no-totp@example.com"},
        ]
    )
    fields = EncryptedFields(db)
    assert sorted(fields.each()) == [
        ("a1", "totp.secret", b"s1"),
        ("a2", "totp.pending", b"p2"),
        ("a3", "totp.pending", b"p3"),
        ("a3", "totp.secret", b"s3"),
    ]
    assert fields.replace("a3", "totp.pending", b"p3", b"p3'") is True
    assert fields.replace("a3", "totp.pending", b"p3", b"p3''") is False
    assert fields.of("a3") == [("a3", "totp.secret", b"s3"), ("a3", "totp.pending", b"p3'")]
    assert fields.of("a4") == []
