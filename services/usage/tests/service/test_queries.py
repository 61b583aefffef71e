"""Summary, record pages and CSV export over stored records: exact sums, any group order,
account scoping, cursor pagination, index use, RFC 4180 + formula-safe CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from svccommon.errors import InvalidArgument
from usage.convert import usage_record
from usage.csvexport import csv_chunks
from usage.records import LineItem, UsageRecord

CRED = "c" * 32
OTHER_ACCOUNT = "acct0000000000000000000000000002"


def put(
    harness: Any, days_ago: int, platform: str, model: str, cost: str, account: str = "", **units: int
) -> None:
    day = harness.day(days_ago)
    record = UsageRecord(
        platform,
        day,
        model,
        "api",
        cost_usd=Decimal(cost),
        units=units,
        line_items=(LineItem(f"{model}, input", Decimal(1000), "tokens", Decimal(cost)),),
    )
    # Several models of one day are written together: a day is replaced as a whole.
    existing = [
        r
        for r in harness.records.records.find(
            {"account_id": account or harness.account, "date": day.isoformat(), "platform": platform}
        )
        if r["model"] != model
    ]
    keep = [
        UsageRecord(platform, day, r["model"], "api", cost_usd=r["cost_usd"].to_decimal(), units=r["units"])
        for r in existing
    ]
    harness.records.replace_day(
        account or harness.account, CRED, platform, day, [*keep, record], "run-1", harness.clock()
    )


@pytest.fixture
def data(harness: Any) -> Any:
    # Stored with the legacy unit names (input_tokens, cached_input_tokens): read as the
    # canonical ones (svccommon.units).
    put(harness, 3, "openai", "gpt-4o", "0.1", input_tokens=10, output_tokens=1)
    put(harness, 3, "openai", "o3", "0.2", input_tokens=20)
    put(harness, 2, "openai", "gpt-4o", "0.3", input_tokens=30)
    put(harness, 2, "anthropic", "claude-opus-5", "1.000001", input_tokens=5, cached_input_tokens=7)
    put(harness, 1, "anthropic", "claude-opus-5", "2", output_tokens=9)
    put(harness, 1, "openai", '=HYPERLINK("http://x")', "0.05", requests=1)
    put(harness, 1, "openai", "model, with comma", "0.0000001", requests=2)
    put(harness, 1, "openai", "gpt-4o", "999", account=OTHER_ACCOUNT)  # never visible
    return harness


def summary(harness: Any, group_by: list[str], **flt: Any) -> Any:
    return harness.queries.summary(harness.queries.make_filter(harness.account, "", "", **flt), group_by)


def test_totals_are_exact_and_scoped_to_the_account(data: Any) -> None:
    result = summary(data, [])
    assert result.total_cost_usd == Decimal("3.6500011")  # 0.1+0.2+0.3+1.000001+2+0.05+0.0000001
    assert result.units == {
        "cache_read_tokens": 7,
        "input_uncached_tokens": 65,
        "output_tokens": 10,
        "requests": 3,
    }
    assert result.records == 7 and len(result.groups) == 1


def test_group_by_any_ordered_subset(data: Any) -> None:
    by_platform_day = summary(data, ["platform", "day"])
    keys = [tuple(g.key.values()) for g in by_platform_day.groups]
    assert keys == sorted(keys) and keys[0] == ("anthropic", data.day(2).isoformat())
    assert {k: v for k, v in by_platform_day.groups[0].key.items()} == {
        "platform": "anthropic",
        "day": data.day(2).isoformat(),
    }
    full = summary(data, ["day", "platform", "model"])
    assert len(full.groups) == 7
    assert sum((g.cost_usd for g in full.groups), Decimal(0)) == full.total_cost_usd
    gpt = [g for g in full.groups if g.key["model"] == "gpt-4o"]
    assert [g.units for g in gpt] == [
        {"input_uncached_tokens": 10, "output_tokens": 1},
        {"input_uncached_tokens": 30},
    ]
    by_model = summary(data, ["model"], platforms=["openai"])
    assert [g.key["model"] for g in by_model.groups][:2] == ['=HYPERLINK("http://x")', "gpt-4o"]
    assert {g.key["model"]: g.cost_usd for g in by_model.groups}["gpt-4o"] == Decimal("0.4")


def test_legacy_and_canonical_unit_names_add_up_in_the_summary(harness: Any) -> None:
    # An OpenAI usage record stored before svccommon.units: its input_tokens included the
    # cached and cache-write tokens. Next to it, records stored with the canonical names.
    put(
        harness,
        2,
        "openai",
        "gpt-4o",
        "1",
        input_tokens=100,
        cached_input_tokens=30,
        cache_write_input_tokens=20,
        requests=2,
        operations=4,
    )
    put(harness, 2, "anthropic", "claude-opus-5", "1", input_tokens=7, operations=3)  # uncached already
    put(harness, 2, "openrouter", "m", "1", input_tokens=9)
    put(harness, 1, "openai", "gpt-4o", "1", input_uncached_tokens=5, cache_read_tokens=1, requests=1)
    result = summary(harness, ["platform"])
    assert result.units == {
        "input_uncached_tokens": 50 + 7 + 5,
        "cache_read_tokens": 30 + 1,
        "cache_write_tokens": 20,
        "input_unsplit_tokens": 9,
        "requests": 3,
        "code_interpreter_sessions": 4,
        "web_search_calls": 3,
    }
    summed: dict[str, int] = {}
    for group in result.groups:
        for name, count in group.units.items():
            summed[name] = summed.get(name, 0) + count
    assert summed == result.units
    # The record listing (GetRecords) reads the legacy names the same way.
    docs, _ = harness.queries.page(harness.queries.make_filter(harness.account, "", ""), 10, "")
    legacy = next(usage_record(d) for d in docs if d["platform"] == "openai" and "input_tokens" in d["units"])
    assert dict(legacy.units) == {
        "input_uncached_tokens": 50,
        "cache_read_tokens": 30,
        "cache_write_tokens": 20,
        "requests": 2,
        "code_interpreter_sessions": 4,
    }


def test_bad_group_by_and_ranges_are_refused(data: Any) -> None:
    with pytest.raises(InvalidArgument, match="group_by"):
        summary(data, ["week"])
    with pytest.raises(InvalidArgument, match="twice"):
        summary(data, ["day", "day"])
    with pytest.raises(InvalidArgument, match="from must not be after to"):
        data.queries.make_filter(data.account, "2026-09-10", "2026-09-01")
    with pytest.raises(InvalidArgument, match="YYYY-MM-DD"):
        data.queries.make_filter(data.account, "2026-9-1", "")


def test_pages_cover_every_record_once_in_key_order(data: Any) -> None:
    flt = data.queries.make_filter(data.account, "", "")
    seen, cursor = [], ""
    while True:
        page, cursor = data.queries.page(flt, 2, cursor)
        assert len(page) <= 2
        seen += [(d["date"], d["platform"], d["model"]) for d in page]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 7
    with pytest.raises(InvalidArgument, match="cursor"):
        data.queries.page(flt, 2, "eyJub3QiOiJhIGN1cnNvciJ9")


def test_queries_use_the_record_index(data: Any) -> None:
    # With a platform filter too, MongoDB still uses the index; the embedded database scans the
    # collection: tests/integration/db_contract/test_records.py::
    # test_planner_uses_record_index_without_hint.
    flt = data.queries.make_filter(data.account, "", "")
    plan = str(data.records.explain(flt)["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in plan and "record_key" in plan and "COLLSCAN" not in plan


def test_csv_export_is_rfc4180_formula_safe_and_sums_to_the_total(data: Any) -> None:
    flt = data.queries.make_filter(data.account, "", "")
    raw = b"".join(data.queries.export(flt)).decode()
    assert raw.endswith("\r\n") and "\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert len(rows) == 7
    assert sum(Decimal(r["cost_usd"]) for r in rows) == Decimal("3.6500011")
    models = {r["model"] for r in rows}
    assert '\'=HYPERLINK("http://x")' in models and "model, with comma" in models
    assert {r["cost_usd"] for r in rows} >= {"0.0000001", "1.000001"}  # never 1E-7
    tiny = next(r for r in rows if r["model"] == "model, with comma")
    assert tiny["requests"] == "2" and tiny["input_uncached_tokens"] == ""


def test_csv_chunks_stream_large_exports() -> None:
    doc = {"date": "2026-09-01", "platform": "openai", "model": "m", "source": "api", "units": {"x": 1}}
    docs = ({**doc, "model": f"model-{i}", "cost_usd": Decimal("0.01")} for i in range(5000))
    chunks = list(csv_chunks(docs, ["x"]))
    assert len(chunks) > 1
    assert len(list(csv.reader(io.StringIO(b"".join(chunks).decode(), newline="")))) == 5001
    assert (
        next(csv_chunks([{**doc, "model": "-1+2", "platform": "@x", "cost_usd": Decimal(-1)}], []))
        .decode()
        .splitlines()[1]
        == "2026-09-01,'@x,'-1+2,api,-1,false,false,,,,"
    )
