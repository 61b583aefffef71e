"""A sync run end to end in-process: real connectors against the fakes, real stores."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

CRED = "c" * 32
CRED_B = "b" * 32


def load_openai(tenant: Any, rows: list[tuple[Any, str, str]]) -> None:
    """rows: (day, line_item, amount) on the costs API, plus matching usage."""
    tenant.load_costs([{"date": d, "amount": amount, "line_item": item} for d, item, amount in rows])
    tenant.load_usage(
        "completions",
        [
            {
                "date": d,
                "model": item.split(",")[0],
                "input_tokens": 100,
                "output_tokens": 10,
                "num_model_requests": 2,
            }
            for d, item, _ in rows
        ],
    )


def stored(harness: Any) -> list[dict[str, Any]]:
    docs = harness.records.records.find({}, {"_id": 0, "synced_at": 0, "sync_run_id": 0})
    return sorted(docs, key=lambda d: (d["date"], d["platform"], d["model"], d["credential_id"]))


def total(harness: Any) -> Decimal:
    flt = harness.queries.make_filter(harness.account, "", "")
    return harness.queries.summary(flt, []).total_cost_usd


def test_sync_stores_exact_days_and_a_second_sync_changes_nothing(harness: Any) -> None:
    tenant = harness.connect("openai", CRED)
    load_openai(
        tenant,
        [
            (harness.day(5), "gpt-4o, input", "12.50"),
            (harness.day(5), "gpt-4o, output", "0.01"),
            (harness.day(4), "gpt-4o-mini, input", "3.333333"),
            (harness.day(1), "gpt-4o, input", "0.10"),
        ],
    )
    run = harness.sync(CRED)
    assert run["status"] == "succeeded", run
    assert (run["days"], run["days_total"], run["records"]) == (30, 30, 3)
    assert run["failed_days"] == [] and run["error"] == ""
    assert total(harness) == Decimal("15.943333")
    first = stored(harness)
    assert {d["model"] for d in first} == {"gpt-4o", "gpt-4o-mini"}
    recent = [d for d in first if d["date"] == harness.day(1).isoformat()]
    assert recent[0]["provisional"] is True and recent[0]["units"]["requests"] == 2
    assert harness.credentials.synced_at  # keyvault was told the sync worked

    again = harness.sync(CRED)
    assert again["status"] == "succeeded"
    assert stored(harness) == first  # no double counting, identical values
    assert total(harness) == Decimal("15.943333")


def test_a_revised_day_replaces_the_old_rows(harness: Any) -> None:
    tenant = harness.connect("openai", CRED)
    load_openai(tenant, [(harness.day(2), "gpt-4o, input", "1.00"), (harness.day(2), "o3, input", "2.00")])
    harness.sync(CRED)
    revised = harness.connect("openai", CRED)  # same credential, the provider now answers differently
    load_openai(revised, [(harness.day(2), "gpt-4o, input", "1.50")])
    harness.sync(CRED)
    assert [(d["model"], str(d["cost_usd"])) for d in stored(harness)] == [("gpt-4o", "1.50")]


def test_two_credentials_of_one_platform_keep_their_own_records(harness: Any) -> None:
    for cred, amount in ((CRED, "1.10"), (CRED_B, "2.20")):
        load_openai(harness.connect("openai", cred), [(harness.day(3), "gpt-4o, input", amount)])
        harness.sync(cred)
    assert total(harness) == Decimal("3.30")
    flt = harness.queries.make_filter(harness.account, "", "")
    [group] = harness.queries.summary(flt, ["day", "platform", "model"]).groups
    assert group.cost_usd == Decimal("3.30") and group.records == 2


def test_invalid_key_marks_the_credential_and_fails_the_run(harness: Any) -> None:
    tenant = harness.connect("anthropic", CRED)
    tenant.fail(401, times=None, body=tenant.error_body(401, "invalid x-api-key"))
    run = harness.sync(CRED)
    assert run["status"] == "failed"
    assert "Admin API key" in run["error"] and tenant.api_key not in run["error"]
    status, message = harness.credentials.status[(harness.account, CRED)]
    assert status == "invalid" and "sk-ant-admin" in message
    assert harness.runs.targets.get(harness.account, CRED)["status"] == "invalid"
    assert len(run["failed_days"]) == 30


def test_outage_fails_the_run_and_keeps_earlier_data(harness: Any) -> None:
    tenant = harness.connect("openai", CRED)
    load_openai(tenant, [(harness.day(3), "gpt-4o, input", "4.00")])
    assert harness.sync(CRED)["status"] == "succeeded"
    tenant.unavailable()
    run = harness.sync(CRED)
    assert run["status"] == "failed"
    assert "OpenAI is not answering (HTTP 503" in run["error"] and "kept" in run["error"]
    assert total(harness) == Decimal("4.00")
    target = harness.runs.targets.get(harness.account, CRED)
    assert target["status"] == "active" and target["retry_from"] == harness.day(29).isoformat()


def test_outage_half_way_keeps_completed_days_and_lists_the_rest(harness: Any) -> None:
    tenant = harness.connect("openrouter", CRED)  # one request per day: fails mid-run
    tenant.load_activity(
        [{"date": harness.day(d).isoformat(), "model": "openai/gpt-4.1", "usage": "0.5"} for d in (4, 3)]
    )
    # Days 5..3 answer, then the provider goes down for good.
    original = tenant.route

    def route(path: str, query: dict) -> tuple[int, Any]:
        if query.get("date", [""])[0] >= harness.day(2).isoformat():
            return 503, tenant.error_body(503, "down")
        return original(path, query)

    tenant.route = route
    run = harness.sync(CRED, frm=harness.day(5).isoformat())
    assert run["status"] == "partial"
    assert run["days"] == 3 and run["records"] == 2
    # Today was never going to be asked (OpenRouter serves completed days only): not a failure.
    assert [f["date"] for f in run["failed_days"]] == [harness.day(d).isoformat() for d in (2, 1)]
    assert [u["from"] for u in run["unavailable_days"]] == [harness.day(0).isoformat()]
    assert total(harness) == Decimal("1.0")


def test_unknown_shape_fails_that_day_only(harness: Any) -> None:
    tenant = harness.connect("openai", CRED)
    load_openai(tenant, [(harness.day(3), "gpt-4o, input", "1.00")])
    tenant.load_costs(
        [{"date": harness.day(2), "result": {"object": "organization.costs.result", "amount": 7}}]
    )
    run = harness.sync(CRED, frm=harness.day(4).isoformat())
    assert run["status"] == "partial"
    assert [f["date"] for f in run["failed_days"]] == [harness.day(2).isoformat()]
    assert "shape we do not recognise" in run["failed_days"][0]["error"]
    assert "1 of 5 days" in run["error"]
    assert total(harness) == Decimal("1.00")


def test_deleted_credential_fails_the_run_and_stops_scheduling(harness: Any) -> None:
    harness.connect("openai", CRED)
    run = harness.syncs.start(harness.account, CRED, "", "", "manual")
    del harness.credentials.keys[(harness.account, CRED)]
    claimed = harness.runs.claim(harness.owner, harness.clock())
    assert harness.job().execute(claimed) == "failed"
    assert "deleted" in harness.runs.get(harness.account, run["_id"])["error"]
    assert harness.runs.targets.get(harness.account, CRED) is None


def test_stopping_gives_the_run_back_to_the_queue(harness: Any) -> None:
    load_openai(harness.connect("openai", CRED), [(harness.day(1), "gpt-4o, input", "1.00")])
    harness.syncs.start(harness.account, CRED, "", "", "manual")
    claimed = harness.runs.claim(harness.owner, harness.clock())
    assert harness.job(stopping=lambda: True).execute(claimed) == "queued"
    run = harness.runs.get(harness.account, claimed["_id"])
    assert run["status"] == "queued" and run["attempts"] == 0 and run["owner"] is None


def test_an_internal_error_fails_the_run_and_the_next_sync_reaches_back_to_its_first_day(
    harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.connect("openai", CRED)

    def broken(platform: str) -> Any:
        raise RuntimeError("a bug, with details no user should see")

    monkeypatch.setattr(harness, "connector", broken)
    run = harness.sync(CRED)
    assert run["status"] == "failed"
    assert run["error"] == "The sync stopped on an internal error; the next sync retries it."
    assert harness.runs.targets.get(harness.account, CRED)["retry_from"] == run["from_date"]
