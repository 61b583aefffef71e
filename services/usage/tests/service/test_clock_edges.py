"""Clock edges with a controlled clock and the provider fakes: a sync that starts before UTC midnight
on a month's last day and ends after it, a leap day, and a provider whose days do not begin at UTC
midnight. Records land on the right day, totals are exact to the cent, and syncing again doubles
nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from usage.engine import SyncEngine

from .test_sync_runs import load_openai, stored

CRED = "e" * 32
UTC = dt.UTC


def spend(harness: Any, first: str, last: str) -> Decimal:
    flt = harness.queries.make_filter(harness.account, first, last)
    return harness.queries.summary(flt, []).total_cost_usd


def per_day(harness: Any) -> dict[str, Decimal]:
    days: dict[str, Decimal] = {}
    for doc in stored(harness):
        days[doc["date"]] = days.get(doc["date"], Decimal(0)) + Decimal(str(doc["cost_usd"]))
    return days


def scheduled_sync(harness: Any) -> dict:
    """What the scheduler does when the key is due: queue its range, then a worker runs it."""
    harness.runs.targets.update(harness.account, CRED, {"next_sync_at": harness.clock()})
    engine = SyncEngine(
        harness.runs,
        lambda owner, stopping: harness.job(stopping, owner),
        workers=1,
        interval_s=21600,
        stale_s=300,
        clock=harness.clock,
    )
    assert engine.housekeeping_pass() == 1
    claimed = harness.runs.claim(harness.owner, harness.clock())
    harness.job().execute(claimed)
    return harness.runs.get(harness.account, claimed["_id"])


def test_a_sync_that_crosses_midnight_at_a_month_end(harness: Any) -> None:
    harness.clock.now = dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
    tenant = harness.connect("openai", CRED)
    load_openai(
        tenant,
        [
            ("2026-10-30", "gpt-4o, input", "1.10"),
            ("2026-10-31", "gpt-4o, input", "2.20"),
            ("2026-10-31", "gpt-4o, output", "0.05"),
            ("2026-11-01", "gpt-4o, input", "3.30"),  # served once that day has begun
        ],
    )
    original = tenant.route

    def route(path: str, query: dict) -> tuple[int, Any]:
        harness.clock.now = dt.datetime(2026, 11, 1, 0, 0, 1, tzinfo=UTC)  # midnight passes mid-run
        return original(path, query)

    tenant.route = route
    run = harness.sync(CRED)
    assert run["status"] == "succeeded", run["error"]
    assert (run["from_date"], run["to_date"], run["days"]) == ("2026-10-02", "2026-10-31", 30)
    assert run["finished_at"].date() == dt.date(2026, 11, 1)
    assert per_day(harness) == {"2026-10-30": Decimal("1.10"), "2026-10-31": Decimal("2.25")}
    # The next scheduled sync reaches into the new month; October stays as it was.
    harness.clock.advance(hours=6)
    again = scheduled_sync(harness)
    assert again["status"] == "succeeded" and again["to_date"] == "2026-11-01"
    assert again["from_date"] <= "2026-10-30"
    assert spend(harness, "2026-10-01", "2026-10-31") == Decimal("3.35")
    assert spend(harness, "2026-11-01", "2026-11-30") == Decimal("3.30")
    once = stored(harness)
    scheduled_sync_after = (harness.clock.advance(hours=6), scheduled_sync(harness))[1]
    assert scheduled_sync_after["status"] == "succeeded"
    assert stored(harness) == once  # nothing doubled
    assert spend(harness, "2026-10-01", "2026-11-30") == Decimal("6.65")


def test_a_leap_day_is_its_own_day(harness: Any) -> None:
    harness.clock.now = dt.datetime(2028, 3, 1, 12, 0, tzinfo=UTC)
    tenant = harness.connect("openai", CRED)
    load_openai(
        tenant,
        [
            ("2028-02-28", "gpt-4o, input", "0.01"),
            ("2028-02-29", "gpt-4o, input", "0.02"),
            ("2028-02-29", "o3, input", "10.005"),
            ("2028-03-01", "gpt-4o, input", "0.04"),
        ],
    )
    run = harness.sync(CRED, frm="2028-02-27")
    assert run["status"] == "succeeded", run["error"]
    assert (run["days_total"], run["days"]) == (4, 4)  # 27, 28, 29 February and 1 March
    assert per_day(harness) == {
        "2028-02-28": Decimal("0.01"),
        "2028-02-29": Decimal("10.025"),
        "2028-03-01": Decimal("0.04"),
    }
    assert spend(harness, "2028-02-29", "2028-02-29") == Decimal("10.025")
    assert spend(harness, "2028-02-01", "2028-02-29") == Decimal("10.035")
    assert spend(harness, "2028-03-01", "2028-03-31") == Decimal("0.04")
    once = stored(harness)
    assert harness.sync(CRED, frm="2028-02-27")["status"] == "succeeded"
    assert stored(harness) == once


def provider_days_sync(harness: Any, utc_offset_hours: int) -> None:
    harness.clock.now = dt.datetime(2026, 9, 30, 20, 0, tzinfo=UTC)
    tenant = harness.connect("openai", CRED)
    tenant.utc_offset_hours = utc_offset_hours
    # By the provider's own calendar; the 31-day windows of a 40-day sync meet on 2026-09-21.
    load_openai(
        tenant,
        [
            ("2026-08-22", "gpt-4o, input", "0.50"),
            ("2026-09-20", "gpt-4o, input", "1.25"),
            ("2026-09-21", "gpt-4o, input", "2.50"),
            ("2026-09-29", "gpt-4o, input", "4.00"),
        ],
    )
    for _ in range(2):  # a second sync doubles nothing
        run = harness.sync(CRED, frm="2026-08-22")
        assert run["status"] == "succeeded", run["error"]
        assert per_day(harness) == {
            "2026-08-22": Decimal("0.50"),
            "2026-09-20": Decimal("1.25"),
            "2026-09-21": Decimal("2.50"),
            "2026-09-29": Decimal("4.00"),
        }
        assert spend(harness, "2026-08-22", "2026-09-30") == Decimal("8.25")


def test_a_provider_whose_days_begin_at_0800_utc(harness: Any) -> None:
    provider_days_sync(harness, -8)  # US Pacific: each bucket starts at 08:00 UTC


def test_a_provider_whose_days_begin_the_utc_day_before(harness: Any) -> None:
    provider_days_sync(harness, +9)  # Tokyo: each bucket starts at 15:00 UTC the day before
