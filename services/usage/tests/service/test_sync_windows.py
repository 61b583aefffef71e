"""Days a provider cannot give are named, not failed; an empty answer never erases stored costs
at once (usage.emptydays)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from usage.records import PROVIDER_ANSWERED_EMPTY
from usage.scheduling import scheduled_range

CRED = "e" * 32


def run_now(harness: Any, run: dict[str, Any]) -> dict[str, Any]:
    claimed = harness.runs.claim(harness.owner, harness.clock())
    assert claimed is not None and claimed["_id"] == run["_id"]
    harness.job().execute(claimed)
    return harness.runs.get(harness.account, run["_id"])


def total(harness: Any) -> Decimal:
    flt = harness.queries.make_filter(harness.account, harness.day(120).isoformat(), "")
    return harness.queries.summary(flt, []).total_cost_usd


def day_records(harness: Any, day: dt.date) -> list[dict[str, Any]]:
    return list(harness.records.records.find({"account_id": harness.account, "date": day.isoformat()}))


def test_openrouter_backfill_names_the_days_it_cannot_give_and_succeeds(harness: Any) -> None:
    tenant = harness.connect("openrouter", CRED)
    tenant.load_activity(
        [
            {"date": harness.day(d).isoformat(), "model": "openai/gpt-4.1", "usage": "0.25"}
            for d in (1, 30, 45)
        ]
    )
    run = harness.syncs.start(harness.account, CRED, "", "", "backfill")
    done = run_now(harness, run)

    assert done["status"] == "succeeded" and done["error"] == "" and done["failed_days"] == []
    assert done["days_total"] == 90 and done["days"] == 30  # the 30 completed days it serves
    assert total(harness) == Decimal("0.50")  # day 45 is beyond the window: not asked, not stored
    spans = done["unavailable_days"]
    assert [(s["from"], s["to"]) for s in spans] == [
        (harness.day(89).isoformat(), harness.day(31).isoformat()),
        (harness.day(0).isoformat(), harness.day(0).isoformat()),
    ]
    assert "last 30 completed UTC days" in spans[0]["reason"] and "today" in spans[1]["reason"]
    assert harness.day(89).isoformat() in done["notice"] and "not failures" in done["notice"]
    asked = {c.param("date") for c in tenant.calls("/activity")}
    assert asked == {harness.day(d).isoformat() for d in range(1, 31)}  # never outside the window
    status, message = harness.credentials.status[(harness.account, CRED)]
    assert status == "active" and harness.day(31).isoformat() in message and "30 completed" in message

    # The next scheduled sync has nothing to retry and again asks only inside the window.
    target = harness.runs.targets.get(harness.account, CRED)
    assert target["retry_from"] is None
    harness.clock.advance(days=1)
    first, last = scheduled_range(target, harness.clock().date())
    scheduled = harness.runs.enqueue(
        harness.account, CRED, "openrouter", "scheduled", first, last, harness.clock()
    )
    again = run_now(harness, scheduled)
    assert again["status"] == "succeeded" and again["failed_days"] == []
    assert [u["from"] for u in again["unavailable_days"]] == [harness.clock().date().isoformat()]


def test_an_empty_answer_keeps_stored_costs_until_confirmed(harness: Any) -> None:
    tenant = harness.connect("openrouter", CRED)
    day = harness.day(5)
    tenant.load_activity([{"date": day.isoformat(), "model": "openai/gpt-4.1", "usage": "1.75"}])
    frm = day.isoformat()
    assert harness.sync(CRED, frm=frm, to=frm)["records"] == 1

    tenant._items.clear()  # the provider now answers the day with nothing
    first = harness.sync(CRED, frm=frm, to=frm)
    assert first["status"] == "succeeded" and first["failed_days"] == []
    assert [k["date"] for k in first["kept_days"]] == [frm] and "kept" in first["kept_days"][0]["reason"]
    assert frm in first["notice"]
    [kept] = day_records(harness, day)
    assert PROVIDER_ANSWERED_EMPTY in kept["warnings"]
    assert total(harness) == Decimal("1.75")  # the rollups still hold the day
    assert harness.runs.targets.get(harness.account, CRED)["retry_from"] == frm  # asked again next time

    second = harness.sync(CRED, frm=frm, to=frm)  # a later run: confirmed empty
    assert second["status"] == "succeeded" and second["kept_days"] == []
    assert "removed" in second["notice"]
    assert day_records(harness, day) == [] and total(harness) == Decimal("0")
    assert harness.records.empty_days.marks.count_documents({}) == 0


def test_a_non_empty_answer_replaces_a_kept_day_and_resets_the_count(harness: Any) -> None:
    tenant = harness.connect("openrouter", CRED)
    day = harness.day(3)
    frm = day.isoformat()
    tenant.load_activity([{"date": frm, "model": "a/one", "usage": "2"}])
    harness.sync(CRED, frm=frm, to=frm)
    tenant._items.clear()
    assert [k["date"] for k in harness.sync(CRED, frm=frm, to=frm)["kept_days"]] == [frm]

    tenant.load_activity([{"date": frm, "model": "a/two", "usage": "3"}])
    replaced = harness.sync(CRED, frm=frm, to=frm)
    assert replaced["kept_days"] == [] and replaced["records"] == 1
    [doc] = day_records(harness, day)
    assert doc["model"] == "a/two" and PROVIDER_ANSWERED_EMPTY not in doc["warnings"]
    assert total(harness) == Decimal("3")

    tenant._items.clear()  # an empty answer after the refill is a first one again: kept
    assert [k["date"] for k in harness.sync(CRED, frm=frm, to=frm)["kept_days"]] == [frm]
    assert total(harness) == Decimal("3")


def test_an_empty_answer_for_a_day_with_nothing_stored_is_just_empty(harness: Any) -> None:
    harness.connect("openrouter", CRED)
    frm = harness.day(4).isoformat()
    run = harness.sync(CRED, frm=frm, to=frm)
    assert run["status"] == "succeeded" and run["kept_days"] == [] and run["notice"] == ""
    assert harness.records.empty_days.marks.count_documents({}) == 0
