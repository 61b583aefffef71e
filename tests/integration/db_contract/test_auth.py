"""Database contract, auth.store: conditional account updates, expiry, throttles, billing guards, one-
time tokens and sessions. Why the contract exists and how known defects of the embedded database are
handled: support/db_contract.py; fixtures: conftest.py here."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from auth.store import Stores
from auth.store.accounts import BillingFields
from auth.store.stripe_events import StripeEvents
from auth.store.throttle import HOLD_S, ThrottleStore
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError
from support.db_contract import ACCOUNT, DUPLICATE_KEY, now_ms

# --- auth.store ---------------------------------------------------------------------------------


def test_account_conditional_updates(db):
    """auth.store.accounts: unique email_key (DuplicateKeyError), find_one_and_update AFTER with
    extra conditions ({totp.enabled: {$ne: true}} on a missing field, a stored Binary), $inc,
    $unset of a subdocument, the step guard {$or: [{f: null}, {f: {$lt}}]}, an array slot
    (totp.backup_codes.<i>) matched and nulled, and {$type: "binData"} with a projection."""
    Stores.of(db).ensure_indexes()
    accounts = db["accounts"]
    now = now_ms()
    accounts.insert_one({"_id": "a1", "email_key": "a@example.com", "token_version": 0})
    with pytest.raises(DuplicateKeyError) as exc:
        accounts.insert_one({"_id": "a2", "email_key": "a@example.com"})
    assert exc.value.code == DUPLICATE_KEY

    def update(extra: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any] | None:
        changes = {**changes, "$set": {**changes.get("$set", {}), "updated_at": now}}
        return accounts.find_one_and_update(
            {"_id": "a1", **extra}, changes, return_document=ReturnDocument.AFTER
        )

    seed = b"\x00seed"  # bytes go in and come back as BSON binary subtype 0
    doc = update({"totp.enabled": {"$ne": True}}, {"$set": {"totp.pending": seed, "totp.pending_at": now}})
    assert doc["totp"]["pending"] == seed
    totp = {
        "enabled": True,
        "secret": seed,
        "pending": None,
        "last_used_step": None,
        "backup_codes": ["h0", "h1"],
    }
    doc = update({"totp.pending": seed, "totp.enabled": {"$ne": True}}, {"$set": {"totp": totp}})
    assert doc["totp"]["enabled"] is True
    assert update({"totp.enabled": {"$ne": True}}, {"$set": {"totp.pending": seed}}) is None
    assert update({}, {"$inc": {"token_version": 1}})["token_version"] == 1

    def use_step(step: int) -> bool:
        guard = {"$or": [{"totp.last_used_step": None}, {"totp.last_used_step": {"$lt": step}}]}
        result = accounts.update_one(
            {"_id": "a1", "totp.enabled": True, **guard}, {"$set": {"totp.last_used_step": step}}
        )
        return result.modified_count == 1

    assert [use_step(s) for s in (10, 10, 9, 11)] == [True, False, False, True]
    slot = "totp.backup_codes.1"
    spend = [
        accounts.update_one({"_id": "a1", slot: "h1"}, {"$set": {slot: None}}).modified_count for _ in "ab"
    ]
    assert spend == [1, 0]
    assert accounts.find_one({"_id": "a1"})["totp"]["backup_codes"] == ["h0", None]
    with_seed = list(accounts.find({"totp.secret": {"$type": "binData"}}, {"totp.secret": 1}, batch_size=100))
    assert with_seed == [{"_id": "a1", "totp": {"secret": seed}}]
    doc = update({}, {"$unset": {"totp": ""}})
    assert "totp" not in doc and not list(accounts.find({"totp.secret": {"$type": "binData"}}))


def test_unverified_accounts_expiry_shapes(db):
    """auth.store.accounts: the unverified-expiry backfill ({$exists: false} with update_many),
    the delete of an expired unverified address ($lte on a date), and $unset with $set on
    verification."""
    Stores.of(db).ensure_indexes()
    accounts = db["accounts"]
    now = now_ms()
    accounts.insert_many(
        [
            {"_id": "old", "email_key": "old@example.com", "email_verified": False},
            {"_id": "ok", "email_key": "ok@example.com", "email_verified": True},
            {
                "_id": "stale",
                "email_key": "stale@example.com",
                "email_verified": False,
                "unverified_expires_at": now - dt.timedelta(seconds=1),
            },
        ]
    )
    store = Stores.of(db).accounts
    assert store.backfill_unverified_expiry(now + dt.timedelta(days=7)) == 1
    assert accounts.find_one({"_id": "old"})["unverified_expires_at"] == now + dt.timedelta(days=7)
    assert "unverified_expires_at" not in accounts.find_one({"_id": "ok"})
    assert store.delete_expired_unverified("old@example.com", now) is False
    assert store.delete_expired_unverified("stale@example.com", now) is True
    doc = store.mark_verified("old", now)
    assert doc["email_verified"] is True and "unverified_expires_at" not in doc


def test_throttle_reservations_check_and_increment_in_one_step(db):
    """auth.store.throttle: update_one upsert whose range filter misses an existing _id raises
    DuplicateKeyError (no second document); $setOnInsert only on insert; the gate taken with
    find_one_and_update AFTER ({n: {$gte}, gate: {$lte}}); release ($inc -1 with {n: {$gt: 0}});
    the windowed counter."""
    Stores.of(db).ensure_indexes()
    store = ThrottleStore(db)
    MONTH = 30 * 86400  # noqa: N806 (a window long enough that the test never crosses its end)
    now = now_ms()
    taken = [store.take("k", 3, now, MONTH) for _ in range(4)]
    assert [type(t).__name__ for t in taken] == ["Taken", "Taken", "Taken", "datetime"]
    assert [t.gated for t in taken[:3]] == [False, False, True] and taken[2].n == 3
    assert taken[3] == now + dt.timedelta(seconds=HOLD_S)  # the gate held by the third
    assert db["throttles"].count_documents({}) == 1
    store.close(taken[2], now + dt.timedelta(seconds=5))
    assert store.take("k", 3, now + dt.timedelta(seconds=4), MONTH) == now + dt.timedelta(seconds=5)
    again = store.take("k", 3, now + dt.timedelta(seconds=5), MONTH)
    assert again.gated and again.n == 4
    store.release(again, now + dt.timedelta(seconds=5))
    doc = db["throttles"].find_one({})
    assert doc["n"] == 3 and doc["gate"] == now + dt.timedelta(seconds=5)
    store.forgive(again.key)
    assert db["throttles"].count_documents({}) == 0
    assert [store.take_window("w", 2, now, 60) for _ in range(3)][:2] == [None, None]
    assert store.take_window("w", 2, now, 60) == dt.datetime.fromtimestamp(
        int(now.timestamp()) // 60 * 60 + 60, dt.UTC
    )


def test_windowed_throttle_takes_several_at_once_and_gives_them_back(db):
    """auth.store.throttle (the alert-email cap): {n: {$lte: limit - count}} with $inc count, all or
    none, upserting the window's document; giving back ($inc -count with {n: {$gte: count}})."""
    store = ThrottleStore(db)
    now = now_ms()
    assert store.take_window("cap", 5, now, 86400, 3) is None  # the insert: n = 3
    assert store.take_window("cap", 5, now, 86400, 3) is not None  # 6 > 5: nothing taken
    assert store.take_window("cap", 5, now, 86400, 2) is None  # the update: n = 5
    assert db["throttles"].find_one({})["n"] == 5
    store.give_back_window("cap", 4, now, 86400)
    store.give_back_window("cap", 4, now, 86400)  # more than is counted: no change
    assert db["throttles"].find_one({})["n"] == 1
    assert store.take_window("cap", 5, now, 86400, 6) is not None


def test_alert_email_records_are_read_by_id_list_and_written_once(db):
    """auth.store.alert_emails: find {_id: {$in}} with an _id-only projection; insert_one whose
    DuplicateKeyError (a concurrent call with the same key) is swallowed; the TTL index."""
    stores = Stores.of(db)
    stores.ensure_indexes()
    log = stores.alert_emails
    now = now_ms()
    assert log.already_sent("k:1", ["a@example.com", "b@example.com"]) == set()
    log.mark_sent("k:1", "a@example.com", ACCOUNT, now)
    log.mark_sent("k:1", "a@example.com", ACCOUNT, now)
    log.mark_sent("k:2", "b@example.com", ACCOUNT, now)
    assert log.already_sent("k:1", ["a@example.com", "b@example.com"]) == {"a@example.com"}
    assert db["alert_emails_sent"].count_documents({}) == 2
    assert db["alert_emails_sent"].index_information()["expiry_ttl"]["expireAfterSeconds"] == 0


def test_billing_guards_and_event_claims(db):
    """auth.store.accounts.billing and auth.store.stripe_events: {field: {$exists: false}} as a
    set-once guard; the newest-state guard {$or: [{$exists: false}, null, {$lte: read_at}]} on a date
    with ReturnDocument.BEFORE; the sparse customer index; webhook claims (insert, DuplicateKeyError,
    stale takeover with $lt, release)."""
    Stores.of(db).ensure_indexes()
    BillingFields(db).ensure_indexes()
    StripeEvents(db).ensure_indexes()
    accounts, events = db["accounts"], db["stripe_events"]
    now = now_ms()
    accounts.insert_many([{"_id": "a1", "email_key": "1@x"}, {"_id": "a2", "email_key": "2@x"}])

    def set_customer(customer: str) -> dict[str, Any] | None:
        return accounts.find_one_and_update(
            {"_id": "a1", "billing.stripe_customer_id": {"$exists": False}},
            {"$set": {"billing.stripe_customer_id": customer}},
            return_document=ReturnDocument.AFTER,
        )

    assert set_customer("cus_1")["billing"]["stripe_customer_id"] == "cus_1"
    assert set_customer("cus_2") is None
    assert accounts.find_one({"billing.stripe_customer_id": "cus_1"})["_id"] == "a1"

    def apply(account: str, read_at: dt.datetime) -> dict[str, Any] | None:
        newest_first = {
            "$or": [
                {"billing.state_read_at": {"$exists": False}},
                {"billing.state_read_at": None},
                {"billing.state_read_at": {"$lte": read_at}},
            ]
        }
        return accounts.find_one_and_update(
            {"_id": account, **newest_first},
            {"$set": {"plan": f"p{read_at:%S%f}", "billing.state_read_at": read_at}},
            return_document=ReturnDocument.BEFORE,
        )

    read_at = now - dt.timedelta(seconds=10)
    accounts.update_one({"_id": "a2"}, {"$set": {"billing.state_read_at": None}})
    before = apply("a1", read_at)
    assert before is not None and "state_read_at" not in before["billing"]
    assert apply("a2", read_at) is not None
    assert apply("a1", read_at) is not None  # read in the same millisecond: newest enough
    assert apply("a1", read_at - dt.timedelta(milliseconds=1)) is None
    assert accounts.find_one({"_id": "a1"})["plan"] == f"p{read_at:%S%f}"

    def insert_event(event_id: str, claimed_at: dt.datetime) -> None:
        events.insert_one(
            {"_id": event_id, "state": "processing", "received_at": now, "claimed_at": claimed_at}
        )

    insert_event("evt_1", now - dt.timedelta(minutes=5))
    with pytest.raises(DuplicateKeyError):
        insert_event("evt_1", now)
    stale = now - dt.timedelta(seconds=120)
    takeover = {"_id": "evt_1", "state": "processing", "claimed_at": {"$lt": stale}}
    assert events.find_one_and_update(takeover, {"$set": {"claimed_at": now}}) is not None
    assert events.find_one_and_update(takeover, {"$set": {"claimed_at": now}}) is None
    events.update_one({"_id": "evt_1"}, {"$set": {"state": "done"}})
    assert events.delete_one({"_id": "evt_1", "state": "processing"}).deleted_count == 0
    insert_event("evt_2", now)
    assert events.delete_one({"_id": "evt_2", "state": "processing"}).deleted_count == 1


def test_failure_counter_window_with_limit(db):
    """auth.store.counters: insert_many of failures, count_documents {key, at: {$gt: since}}
    with a limit (the count stops at it), the oldest in the window by find_one sort."""
    Stores.of(db).ensure_indexes()
    failures = db["login_failures"]
    now = now_ms()
    failures.insert_many(
        [
            {
                "_id": uuid.uuid4().hex,
                "key": k,
                "at": now - dt.timedelta(seconds=s),
                "expires_at": now + dt.timedelta(hours=1),
            }
            for k in ("ip:1", "account:a")
            for s in range(0, 100, 10)
        ]
    )
    since = now - dt.timedelta(seconds=50)
    assert failures.count_documents({"key": "ip:1", "at": {"$gt": since}}) == 5  # 50 s ago is out
    assert failures.count_documents({"key": "ip:1", "at": {"$gt": since}}, limit=3) == 3
    assert failures.count_documents({"key": "ip:1", "at": {"$gt": since}}, limit=30) == 5
    oldest = failures.find_one({"key": "ip:1", "at": {"$gt": since}}, sort=[("at", ASCENDING)])
    assert oldest["at"] == now - dt.timedelta(seconds=40)
    assert failures.delete_many({"key": "ip:1"}).deleted_count == 10


def test_one_time_tokens_and_sessions(db):
    """auth.store.tokens and auth.store.sessions: spend-once updates on {used_at: null,
    expires_at: {$gt: now}} / {rotated_at: null}, $inc of failures (AFTER), revoke_all as
    update_many with {_id: {$ne: keep}} and {revoked_at: null}."""
    Stores.of(db).ensure_indexes()
    tokens, sessions, refresh = db["one_time_tokens"], db["sessions"], db["refresh_tokens"]
    now = now_ms()
    tokens.insert_many(
        [
            {"_id": "t1", "kind": "password_reset", "account_id": "a", "used_at": None, "failures": 0,
             "expires_at": now + dt.timedelta(minutes=5)},
            {"_id": "t2", "kind": "password_reset", "account_id": "a", "used_at": None, "failures": 0,
             "expires_at": now},
        ]
    )  # fmt: skip
    live = {"kind": "password_reset", "used_at": None, "expires_at": {"$gt": now}}
    assert tokens.find_one({"_id": "t2", **live}) is None  # expiring exactly now is expired
    doc = tokens.find_one_and_update(
        {"_id": "t1", "used_at": None}, {"$inc": {"failures": 1}}, return_document=ReturnDocument.AFTER
    )
    assert doc["failures"] == 1
    spend = [
        tokens.find_one_and_update(
            {"_id": "t1", **live}, {"$set": {"used_at": now}}, return_document=ReturnDocument.AFTER
        )
        for _ in range(2)
    ]
    assert spend[0]["used_at"] == now and spend[1] is None

    refresh.insert_one(
        {"_id": "h1", "session_id": "s1", "rotated_at": None, "expires_at": now + dt.timedelta(days=1)}
    )
    rotated = [
        refresh.find_one_and_update({"_id": "h1", "rotated_at": None}, {"$set": {"rotated_at": now}})
        for _ in "ab"
    ]
    assert rotated[0] is not None and rotated[1] is None

    sessions.insert_many(
        [
            {"_id": f"s{i}", "account_id": "a", "revoked_at": None, "expires_at": now + dt.timedelta(days=1)}
            for i in range(4)
        ]
    )
    assert (
        sessions.update_one({"_id": "s3", "revoked_at": None}, {"$set": {"revoked_at": now}}).modified_count
        == 1
    )
    revoked = sessions.update_many(
        {"account_id": "a", "revoked_at": None, "_id": {"$ne": "s0"}}, {"$set": {"revoked_at": now}}
    )
    assert revoked.modified_count == 2
    assert [s["_id"] for s in sessions.find({"account_id": "a", "revoked_at": None})] == ["s0"]


def test_live_sessions_of_an_account(db):
    """auth.store.sessions live_of and revoke_live: {account_id, revoked_at: null, token_version,
    expires_at: {$gt: now}} sorted by created_at then _id descending with a limit (0: all), and
    update_one on the same filter plus _id."""
    stores = Stores.of(db)
    stores.ensure_indexes()
    now = now_ms()
    later = now + dt.timedelta(days=1)
    db["sessions"].insert_many(
        [
            {"_id": "s0", "account_id": "a", "token_version": 1, "revoked_at": None,
             "created_at": now - dt.timedelta(seconds=3), "expires_at": later},
            {"_id": "s1", "account_id": "a", "token_version": 1, "revoked_at": None,
             "created_at": now - dt.timedelta(seconds=1), "expires_at": later},
            {"_id": "s2", "account_id": "a", "token_version": 1, "revoked_at": None,
             "created_at": now - dt.timedelta(seconds=1), "expires_at": later},
            {"_id": "s3", "account_id": "a", "token_version": 1, "revoked_at": now,
             "created_at": now, "expires_at": later},
            {"_id": "s4", "account_id": "a", "token_version": 0, "revoked_at": None,
             "created_at": now, "expires_at": later},
            {"_id": "s5", "account_id": "a", "token_version": 1, "revoked_at": None,
             "created_at": now, "expires_at": now},
            {"_id": "s6", "account_id": "b", "token_version": 1, "revoked_at": None,
             "created_at": now, "expires_at": later},
        ]
    )  # fmt: skip
    live = stores.sessions.live_of
    assert [s["_id"] for s in live("a", 1, now, 0)] == ["s2", "s1", "s0"]
    assert [s["_id"] for s in live("a", 1, now, 2)] == ["s2", "s1"]
    revoke = stores.sessions.revoke_live
    assert not any(revoke(s, "a", 1, now, "ended") for s in ("s3", "s4", "s5", "s6", "nope"))
    assert revoke("s1", "a", 1, now, "ended") and not revoke("s1", "a", 1, now, "ended")
    assert [s["_id"] for s in live("a", 1, now, 0)] == ["s2", "s0"]
    assert db["sessions"].find_one({"_id": "s1"})["revoked_reason"] == "ended"
