"""The run queue (claims, one running run per credential, recovery of dead workers) and the
scheduler (due targets become scheduled runs over the right days)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from svccommon.errors import InvalidArgument, NotFound
from usage.engine import SyncEngine
from usage.runstore import MAX_ATTEMPTS
from usage.scheduling import retry_delay, scheduled_range

CRED, CRED_B = "c" * 32, "b" * 32


def enqueue(harness: Any, cred: str = CRED) -> dict[str, Any]:
    day = harness.day(0)
    return harness.runs.enqueue(harness.account, cred, "openai", "manual", day, day, harness.clock())


def test_one_running_run_per_credential(harness: Any) -> None:
    first, second, other = enqueue(harness), enqueue(harness), enqueue(harness, CRED_B)
    claimed_a = harness.runs.claim("worker-a", harness.clock())
    claimed_b = harness.runs.claim("worker-b", harness.clock())
    assert claimed_a["_id"] == first["_id"]
    assert claimed_b["_id"] == other["_id"]  # the same credential's second run waits
    assert harness.runs.claim("worker-c", harness.clock()) is None
    harness.runs.finish(first["_id"], "worker-a", "succeeded", "", harness.clock())
    assert harness.runs.claim("worker-c", harness.clock())["_id"] == second["_id"]


def test_dead_workers_runs_are_requeued_then_failed(harness: Any) -> None:
    run = enqueue(harness)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claimed = harness.runs.claim(f"worker-{attempt}", harness.clock())
        assert claimed["_id"] == run["_id"] and claimed["attempts"] == attempt
        harness.clock.advance(minutes=10)  # the worker died: no heartbeat since
        harness.runs.requeue_stale(harness.clock() - dt.timedelta(minutes=5), harness.clock())
    final = harness.runs.get(harness.account, run["_id"])
    assert final["status"] == "failed" and "interrupted 3 times" in final["error"]


def test_a_live_workers_heartbeat_keeps_its_run(harness: Any) -> None:
    enqueue(harness)
    harness.runs.claim("worker-a", harness.clock())
    harness.clock.advance(minutes=10)
    harness.runs.heartbeat("worker-a", harness.clock())
    assert harness.runs.requeue_stale(harness.clock() - dt.timedelta(minutes=5), harness.clock()) == (0, 0)


def test_scheduled_range_reads_recent_days_again_and_retries_failures() -> None:
    today = dt.date(2026, 9, 30)
    assert scheduled_range({"synced_until": "2026-09-30"}, today) == (dt.date(2026, 9, 28), today)
    assert scheduled_range({"synced_until": "2026-09-20"}, today) == (dt.date(2026, 9, 18), today)
    failed = {"synced_until": "2026-09-30", "retry_from": "2026-09-02"}
    assert scheduled_range(failed, today) == (dt.date(2026, 9, 2), today)
    assert scheduled_range({}, today) == (dt.date(2026, 9, 1), today)
    assert scheduled_range({"synced_until": "2024-01-01"}, today)[0] == dt.date(2025, 10, 1)


def test_after_failures_in_a_row_the_next_try_doubles() -> None:
    first = dt.timedelta(minutes=15)
    waits = [retry_delay(n, first) for n in (1, 2, 3, 4, 5)]
    assert waits == [dt.timedelta(minutes=m) for m in (15, 30, 60, 120, 240)]
    assert retry_delay(10_000, first) == first * 2**10  # bounded; the interval caps it anyway


def make_engine(harness: Any, interval_s: int = 3600, workers: int = 1) -> SyncEngine:
    return SyncEngine(
        harness.runs,
        lambda owner, stopping: harness.job(stopping, owner),
        workers=workers,
        interval_s=interval_s,
        stale_s=300,
        clock=harness.clock,
    )


def test_due_targets_get_one_scheduled_run(harness: Any) -> None:
    harness.connect("openai", CRED)
    harness.runs.targets.register(harness.account, CRED, "openai", harness.clock(), harness.clock())
    harness.runs.targets.update(harness.account, CRED, {"synced_until": harness.day(1).isoformat()})
    engine = make_engine(harness)
    assert engine.housekeeping_pass() == 1
    assert engine.housekeeping_pass() == 0  # pushed one interval ahead
    [run] = list(harness.runs.runs.find())
    assert (run["reason"], run["from_date"], run["to_date"]) == (
        "scheduled",
        harness.day(3).isoformat(),
        harness.day(0).isoformat(),
    )
    harness.clock.advance(hours=2)
    assert engine.housekeeping_pass() == 0  # due again, but its run is still queued
    harness.runs.targets.update(harness.account, CRED, {"status": "invalid"})
    harness.clock.advance(hours=2)
    assert engine.housekeeping_pass() == 0  # invalid keys are not retried on a schedule


def test_engine_workers_run_queued_syncs(harness: Any) -> None:
    tenant = harness.connect("openai", CRED)
    tenant.load_costs([{"date": harness.day(1), "amount": "2.50", "line_item": "gpt-4o, input"}])
    engine = make_engine(harness, workers=2)
    engine.start()
    try:
        run = harness.syncs.start(harness.account, CRED, "", "", "manual")
        engine.wake()
        deadline = time.monotonic() + 30
        while harness.runs.get(harness.account, run["_id"])["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the run never finished"
            time.sleep(0.05)
    finally:
        engine.stop()
    assert harness.runs.get(harness.account, run["_id"])["status"] == "succeeded"


def test_start_sync_validates_and_reuses_a_covering_run(harness: Any) -> None:
    harness.connect("openai", CRED)
    with pytest.raises(NotFound):
        harness.syncs.start(harness.account, CRED_B, "", "", "manual")
    with pytest.raises(NotFound):
        harness.syncs.start("someone-else", CRED, "", "", "manual")  # another account's credential
    with pytest.raises(InvalidArgument, match="at most 365 days"):
        harness.syncs.start(harness.account, CRED, harness.day(365).isoformat(), "", "manual")
    backfill = harness.syncs.start(harness.account, CRED, "", "", "backfill")
    assert (backfill["from_date"], backfill["days_total"]) == (harness.day(89).isoformat(), 90)
    assert harness.syncs.start(harness.account, CRED, "", "", "manual")["_id"] == backfill["_id"]
    cancelled, _ = harness.syncs.forget(harness.account, CRED, delete_records=False)
    assert cancelled == 1 and harness.runs.targets.get(harness.account, CRED) is None
    assert harness.runs.get(harness.account, backfill["_id"])["status"] == "failed"


def test_run_listing_is_paged_newest_first_and_scoped(harness: Any) -> None:
    ids = []
    for _ in range(5):
        ids.append(enqueue(harness)["_id"])
        harness.clock.advance(seconds=1)
    page, cursor = harness.syncs.list(harness.account, "", 2, "")
    seen = [r["_id"] for r in page]
    while cursor:
        page, cursor = harness.syncs.list(harness.account, "", 2, cursor)
        seen += [r["_id"] for r in page]
    assert seen == ids[::-1]
    assert harness.syncs.list("another-account", "", 10, "")[0] == []
    with pytest.raises(NotFound):
        harness.syncs.get("another-account", ids[0])
    with pytest.raises(InvalidArgument, match="cursor"):
        harness.syncs.list(harness.account, "", 2, "not-a-cursor")
