"""The summary read path on the real database: day rollups kept in step with writes, a writer
that died half way, accounts stored before rollups existed, eviction, and the dashboard's shapes
(top N with the rest folded, month to date against last month, breakdown by key)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from usage.imports import RecordInput
from usage.queries import UsageQueries
from usage.records import UsageRecord
from usage.summarycache import STALE_PENDING, SummaryCache

CRED_A, CRED_B = "a" * 32, "b" * 32


def sync(h: Any, credential: str, platform: str, back: int, **costs: str) -> None:
    day = h.day(back)
    rows = [
        UsageRecord(platform, day, m, "api", cost_usd=Decimal(c), units={"requests": 1})
        for m, c in costs.items()
    ]
    h.records.replace_day(h.account, credential, platform, day, rows, "run", h.clock())


def raw_record(
    h: Any, back: int, model: str, cost: str, units: dict | None = None, account: str = ""
) -> dict:
    """A record document as RecordStore stores it, for writing around the store (a writer that
    died half way, data from before rollups existed)."""
    return {
        "account_id": account or h.account,
        "date": h.day(back).isoformat(),
        "platform": "openai",
        "model": model,
        "source": "api",
        "credential_id": CRED_A,
        "cost_usd": Decimal128(cost),
        "units": units or {},
    }


def total(queries: UsageQueries, h: Any, **flt: Any) -> Decimal:
    return queries.summary(
        queries.make_filter(h.account, h.day(60).isoformat(), "", **flt), []
    ).total_cost_usd


def test_rollups_hold_one_document_per_day_in_step_with_the_records(harness: Any) -> None:
    sync(harness, CRED_A, "openai", 1, gpt="1.10", o3="2.20")
    sync(harness, CRED_A, "openai", 1, gpt="1.10")  # re-sync: o3 gone from that day
    doc = harness.records.rollup_store.rollups.find_one({"account_id": harness.account})
    assert doc["date"] == harness.day(1).isoformat() and doc["columns"]["m"] == ["gpt"]
    stamp = harness.records.rollup_store.stamp(harness.account)
    assert stamp.revs[doc["date"]] == doc["rev"] and not stamp.pending
    assert total(harness.queries, harness) == Decimal("1.1")


def test_a_writer_that_died_half_way_costs_speed_not_exactness(harness: Any) -> None:
    store, account = harness.records.rollup_store, harness.account
    sync(harness, CRED_A, "openai", 2, gpt="5")
    assert total(harness.queries, harness) == Decimal(5)
    # A process marks the day, writes one record straight to the collection and dies.
    store.begin(account, [harness.day(2).isoformat()], dt.datetime.now(dt.UTC))
    harness.records.records.insert_one(raw_record(harness, 2, "late", "0.5", account=account))
    assert total(harness.queries, harness) == Decimal("5.5")  # pending day: read from the records
    assert store.stamp(account).pending
    # Long after, the next reader repairs the day and serves it from the rollup again.
    stale = dt.datetime.now(dt.UTC) - STALE_PENDING - dt.timedelta(minutes=1)
    store.stamps.update_one(
        {"_id": account}, {"$set": {f"pending.{harness.day(2).isoformat()}": {"t": stale}}}
    )
    assert total(harness.queries, harness) == Decimal("5.5")
    assert not store.stamp(account).pending
    [doc] = store.read(account, [harness.day(2).isoformat()])
    assert doc["columns"]["m"] == ["gpt", "late"]


def test_records_stored_before_rollups_existed_are_built_on_first_read(harness: Any) -> None:
    harness.records.records.insert_many(
        [raw_record(harness, d, "m", "0.25", {"requests": 2}) for d in range(5)]
    )
    summary = harness.queries.summary(harness.queries.make_filter(harness.account, "", ""), ["day"])
    assert summary.total_cost_usd == Decimal("1.25") and len(summary.groups) == 5
    assert harness.records.rollup_store.stamp(harness.account).built


def test_a_second_cache_sees_every_write_of_the_first(harness: Any) -> None:
    other = UsageQueries(harness.records, harness.clock)
    sync(harness, CRED_A, "openai", 3, gpt="1")
    assert total(other, harness) == total(harness.queries, harness) == Decimal(1)
    sync(harness, CRED_A, "openai", 3, gpt="4")
    assert total(other, harness) == Decimal(4)
    harness.importer.import_upload(
        harness.account, "u" * 32, [RecordInput("anthropic", harness.day(3).isoformat(), "claude", "2")]
    )
    assert total(other, harness) == Decimal(6)
    harness.importer.delete_upload(harness.account, "u" * 32)
    harness.syncs.forget(harness.account, CRED_A, delete_records=True)
    assert total(other, harness) == total(harness.queries, harness) == Decimal(0)


def test_concurrent_writers_of_one_day_leave_the_rollup_equal_to_the_records(harness: Any) -> None:
    def write(credential: str, cost: str) -> None:
        for i in range(5):
            sync(harness, credential, "openai", 0, gpt=str(Decimal(cost) + i))

    threads = [threading.Thread(target=write, args=(c, v)) for c, v in ((CRED_A, "1"), (CRED_B, "10"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [doc] = harness.records.rollup_store.read(harness.account, [harness.day(0).isoformat()])
    assert doc["columns"]["scale"] == 0 and sorted(doc["columns"]["cost"]) == [5, 14]
    assert total(UsageQueries(harness.records, harness.clock), harness) == Decimal(19)


def test_least_recently_used_accounts_are_evicted_beyond_the_entry_budget(harness: Any) -> None:
    records = harness.records
    cache = SummaryCache(records.rollup_store, records.rollups, records, max_entries=5_000)
    queries = UsageQueries(records, harness.clock, cache)
    accounts = [f"{i:032x}" for i in range(3)]
    for account in accounts:
        day = harness.day(0)
        rows = [UsageRecord("openai", day, f"m{i}", "api", cost_usd=Decimal(1)) for i in range(2000)]
        records.replace_day(account, CRED_A, "openai", day, rows, "run", harness.clock())
        assert queries.summary(queries.make_filter(account, "", ""), []).total_cost_usd == 2000
    assert list(cache._views) == accounts[1:]  # the oldest went first
    assert queries.summary(queries.make_filter(accounts[0], "", ""), []).records == 2000  # reloaded


def test_top_models_fold_the_rest_into_one_row(harness: Any) -> None:
    sync(harness, CRED_A, "openai", 1, a="5", b="1", c="3", d="1")
    flt = harness.queries.make_filter(harness.account, "", "")
    summary = harness.queries.summary(flt, ["model"], top=2)
    assert [(g.key["model"], g.cost_usd) for g in summary.groups] == [("a", 5), ("c", 3)]
    assert summary.others.cost_usd == 2 and summary.others.records == 2 and summary.others_groups == 2
    assert summary.total_cost_usd == 10
    assert harness.queries.summary(flt, ["model"], top=4).others is None


def test_breakdown_by_key_and_filter_by_key(harness: Any) -> None:
    sync(harness, CRED_A, "openai", 1, gpt="1")
    sync(harness, CRED_B, "openai", 1, gpt="2")
    harness.importer.import_upload(
        harness.account, "u" * 32, [RecordInput("openai", harness.day(1).isoformat(), "gpt", "4")]
    )
    flt = harness.queries.make_filter(harness.account, "", "")
    groups = harness.queries.summary(flt, ["credential_id"]).groups
    assert [(g.key["credential_id"], g.cost_usd) for g in groups] == [("", 4), (CRED_A, 1), (CRED_B, 2)]
    assert total(harness.queries, harness, credentials=[CRED_B, ""]) == 6


def test_month_to_date_against_the_same_days_of_last_month(harness: Any) -> None:
    harness.clock.now = dt.datetime(2026, 3, 30, 12, tzinfo=dt.UTC)  # February has 28 days
    for back, cost in ((0, "1"), (29, "2"), (30, "4"), (40, "8"), (60, "16")):
        sync(harness, CRED_A, "openai", back, gpt=cost)
    result = harness.queries.month_to_date(
        harness.queries.make_filter(harness.account, "", ""), harness.day(0)
    )
    assert (result.current.first.isoformat(), result.current.last.isoformat()) == ("2026-03-01", "2026-03-30")
    assert (result.previous.first.isoformat(), result.previous.last.isoformat()) == (
        "2026-02-01",
        "2026-02-28",
    )
    # Mar 30 and Mar 1 this month; Feb 28 and Feb 18 last month; Jan 29 is outside both.
    assert result.current.totals.cost_usd == 3 and result.previous.totals.cost_usd == 12
    assert result.change_usd == -9 and result.change_ratio == Decimal("-0.75")


def test_racing_first_tickets_of_a_new_account_all_succeed(harness: Any) -> None:
    """Two rebuilds of an account with no stamp yet race to create it (the embedded database can
    answer the loser with no document:
    tests/integration/db_contract/test_rollups.py::test_ticket_counter_first_upserts_racing)."""
    store = harness.records.rollup_store
    for attempt in range(40):
        account = f"{attempt:032x}"
        tickets: list[int] = []
        threads = [
            threading.Thread(target=lambda a=account, out=tickets: out.append(store.ticket(a)))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(tickets) == 2 and len(set(tickets)) == 2


def test_operators_can_build_rollups_ahead_of_the_first_read(harness: Any) -> None:
    harness.records.records.insert_one(raw_record(harness, 1, "m", "3"))
    client = harness.db.client
    host, port = next(iter(client.nodes))
    env = {**os.environ, "MONGODB_URI": f"mongodb://{host}:{port}/", "MONGODB_DATABASE": harness.db.name}

    def admin(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "usage.admin", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "rollups built: 0" in admin("status")
    assert f"{harness.account}: 1 days rebuilt" in admin("rebuild")
    assert "accounts with records: 1; rollups built: 1; days pending: 0" in admin("status")
    [doc] = harness.records.rollup_store.read(harness.account, [harness.day(1).isoformat()])
    assert (doc["columns"]["cost"], doc["columns"]["scale"]) == ([3], 0)


def test_a_rebuild_covers_every_day_in_batches_and_empties_days_without_records(harness: Any) -> None:
    for back in range(40):  # more days than one rebuild batch
        sync(harness, CRED_A, "openai", back, gpt="1")
    harness.records.records.delete_many({"account_id": harness.account, "date": harness.day(39).isoformat()})
    assert harness.records.rollups.rebuild_account(harness.account) == 40
    summary = harness.queries.summary(
        harness.queries.make_filter(harness.account, harness.day(45).isoformat(), ""), ["day"]
    )
    assert summary.total_cost_usd == 39 and len(summary.groups) == 39
    [emptied] = harness.records.rollup_store.read(harness.account, [harness.day(39).isoformat()])
    assert emptied["columns"]["p"] == []


def test_a_sync_runs_writes_are_exact_while_deferred_and_refreshed_at_the_end(harness: Any) -> None:
    rollups, store, account = harness.records.rollups, harness.records.rollup_store, harness.account
    days = [harness.day(back).isoformat() for back in range(40)]
    with rollups.deferred(account, days):
        assert set(store.stamp(account).pending) == set(days)  # marked once, up front
        for back in range(35):  # more than one flush of REBUILD_BATCH_DAYS
            sync(harness, CRED_A, "openai", back, gpt="1")
        assert total(UsageQueries(harness.records, harness.clock), harness) == 35
        flushed = {d for d in days if d not in store.stamp(account).pending}
        assert len(flushed) == 31  # the first 31 written days were refreshed and unmarked
        try:
            with rollups.changing(account, [harness.day(36).isoformat()]):
                harness.records.records.insert_one(
                    raw_record(harness, 36, "half-written", "2", account=account)
                )
                raise RuntimeError("the write died half way")
        except RuntimeError:
            pass
    assert not store.stamp(account).pending  # written days refreshed, unwritten ones unmarked
    [half] = store.read(account, [harness.day(36).isoformat()])
    assert half["columns"]["m"] == ["half-written"]  # a failed write is refreshed all the same
    assert total(UsageQueries(harness.records, harness.clock), harness) == 37


def test_a_new_accounts_first_write_leaves_it_built_so_its_first_read_rebuilds_nothing(harness: Any) -> None:
    store = harness.records.rollup_store
    assert not store.exists(harness.account)
    sync(harness, CRED_A, "openai", 3, gpt="1.50")
    stamp = store.stamp(harness.account)
    assert stamp.built and not stamp.pending
    tickets = store.stamps.find_one({"_id": harness.account})["seq"]
    assert total(harness.queries, harness) == Decimal("1.5")
    # A rebuild on the read path would have taken a ticket of its own.
    assert store.stamps.find_one({"_id": harness.account})["seq"] == tickets


def test_an_account_with_records_from_before_rollups_is_not_marked_built_by_a_new_write(harness: Any) -> None:
    harness.records.records.insert_one(raw_record(harness, 4, "old", "2"))  # no stamp: stored before
    sync(harness, CRED_B, "openai", 1, gpt="1")
    assert not harness.records.rollup_store.stamp(harness.account).built
    assert total(harness.queries, harness) == Decimal(3)  # the first read builds every day, old ones too
    assert harness.records.rollup_store.stamp(harness.account).built
