"""Billing-file records from the parser: validation, summing rows of one key, idempotent
re-import, the later of two overlapping uploads wins, deleting an upload."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from svccommon.errors import InvalidArgument
from usage.imports import LineInput, RecordInput


def row(day: str, model: str, cost: str, **units: int) -> RecordInput:
    return RecordInput(
        platform="mistral",
        date=day,
        model=model,
        cost_usd=cost,
        units=units,
        line_items=[LineInput(f"{model} tokens", "1000", "tokens", cost)],
    )


def file_total(harness: Any) -> Decimal:
    flt = harness.queries.make_filter(harness.account, "", "", source="file")
    return harness.queries.summary(flt, []).total_cost_usd


def test_reimport_is_idempotent_and_rows_of_one_key_are_summed(harness: Any) -> None:
    d = harness.day(3).isoformat()
    rows = [
        row(d, "mistral-large", "1.25", input_tokens=100),
        row(d, "mistral-large", "0.75", output_tokens=9),
    ]
    assert harness.importer.import_upload(harness.account, "upload-1", rows) == 1
    assert harness.importer.import_upload(harness.account, "upload-1", rows) == 1
    assert file_total(harness) == Decimal("2.00")
    [doc] = harness.records.records.find({"source": "file"})
    assert doc["units"] == {"input_tokens": 100, "output_tokens": 9}
    assert doc["upload_id"] == "upload-1" and doc["credential_id"] == "" and not doc["provisional"]


def test_the_later_upload_wins_and_deleting_the_older_keeps_it(harness: Any) -> None:
    d1, d2 = harness.day(3).isoformat(), harness.day(2).isoformat()
    harness.importer.import_upload(harness.account, "march", [row(d1, "m", "1.00"), row(d2, "m", "2.00")])
    harness.importer.import_upload(harness.account, "march-again", [row(d2, "m", "2.50")])
    assert file_total(harness) == Decimal("3.50")  # not 5.50: no double counting
    assert harness.importer.delete_upload(harness.account, "march") == 1  # only d1 still came from it
    assert file_total(harness) == Decimal("2.50")
    assert harness.importer.delete_upload(harness.account, "march-again") == 1
    assert file_total(harness) == Decimal(0)


def test_file_and_api_records_of_one_day_are_kept_apart(harness: Any) -> None:
    d = harness.day(1).isoformat()
    harness.importer.import_upload(harness.account, "u", [row(d, "m", "1")])
    flt = harness.queries.make_filter(harness.account, "", "")
    by_source = harness.queries.summary(flt, ["source"])
    assert [(g.key["source"], g.cost_usd) for g in by_source.groups] == [("file", Decimal(1))]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"platform": "nope"}, r"records\[0\].platform"),
        ({"date": "2026-13-01"}, r"records\[0\].date must be a day"),
        ({"date": "2099-01-01"}, "in the future"),
        ({"model": ""}, r"records\[0\].model"),
        ({"cost_usd": "12,50"}, r"records\[0\].cost_usd is not a decimal"),
        ({"cost_usd": "NaN"}, "not a decimal"),
        ({"units": {"Bad Unit": 1}}, "malformed unit"),
        ({"units": {"input_tokens": -1}}, "must not be negative"),
        ({"line_items": [LineInput("x", "lots", "tokens", "1")]}, r"line_items\[0\].quantity"),
    ],
)
def test_invalid_rows_are_refused_with_their_place(harness: Any, bad: dict[str, Any], message: str) -> None:
    base = {"platform": "openai", "date": harness.day(1).isoformat(), "model": "gpt-4o", "cost_usd": "1"}
    with pytest.raises(InvalidArgument, match=message):
        harness.importer.import_upload(harness.account, "u", [RecordInput(**{**base, **bad})])
    assert harness.records.records.count_documents({}) == 0
