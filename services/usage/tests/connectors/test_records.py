"""The normalized record: exact money, validation, merging partial records."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import pytest
from usage.records import (
    DecimalParseError,
    LineItem,
    UsageRecord,
    merge_records,
    to_count,
    to_decimal,
    total_cost,
)

DAY = date(2026, 9, 1)


def test_to_decimal_is_exact_and_refuses_floats() -> None:
    assert to_decimal("12.50") == Decimal("12.50")
    assert to_decimal(" 0.1 ") + to_decimal("0.2") == Decimal("0.3")
    assert to_decimal(7) == Decimal(7)
    for bad in (0.1, None, True, "abc", "NaN", "Infinity", {"value": 1}):
        with pytest.raises(DecimalParseError):
            to_decimal(bad)


def test_to_count() -> None:
    assert to_count(10) == 10 and to_count("10") == 10 and to_count(Decimal("10.0")) == 10
    with pytest.raises(DecimalParseError):
        to_count(Decimal("1.5"))


def test_record_validation() -> None:
    with pytest.raises(TypeError):
        UsageRecord("openai", DAY, "m", "api", cost_usd=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        UsageRecord("openai", datetime(2026, 9, 1), "m", "api")
    with pytest.raises(ValueError):
        UsageRecord("openai", DAY, "m", "csv")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        UsageRecord("openai", DAY, "m", "api", units={"input_tokens": 1.0})  # type: ignore[dict-item]
    record = UsageRecord("openai", DAY, "m", "api", line_items=[LineItem("x", 1, "tokens", Decimal(0))])
    assert record.line_items == (LineItem("x", 1, "tokens", Decimal(0)),)
    assert record.key == ("openai", DAY, "m", "api", "", "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.cost_usd = Decimal(1)  # type: ignore[misc]


def test_merge_joins_cost_part_and_units_part() -> None:
    cost = UsageRecord(
        "openai",
        DAY,
        "gpt-4o",
        "api",
        cost_usd=Decimal("1.10"),
        amount_original=Decimal("1.10"),
        line_items=(LineItem("gpt-4o, input", 100, "tokens", Decimal("1.10")),),
    )
    cost2 = dataclasses.replace(
        cost,
        cost_usd=Decimal("0.01"),
        amount_original=Decimal("0.01"),
        line_items=(LineItem("gpt-4o, input", Decimal("1.5"), "tokens", Decimal("0.01")),),
    )
    units = UsageRecord(
        "openai",
        DAY,
        "gpt-4o",
        "api",
        units={"input_tokens": 100, "requests": 2},
        provisional=True,
        warnings=("w",),
    )
    other = UsageRecord("openai", DAY, "gpt-4o-mini", "api", units={"requests": 1})
    merged = merge_records([cost, units, other, cost2])
    assert [r.model for r in merged] == ["gpt-4o", "gpt-4o-mini"]
    gpt = merged[0]
    assert gpt.cost_usd == Decimal("1.11") and gpt.amount_original == Decimal("1.11")
    assert gpt.units == {"input_tokens": 100, "requests": 2}
    assert gpt.line_items == (LineItem("gpt-4o, input", Decimal("101.5"), "tokens", Decimal("1.11")),)
    assert gpt.provisional and gpt.warnings == ("w",)
    assert total_cost(merged) == Decimal("1.11")


def test_merge_refuses_different_keys() -> None:
    from usage.records import merge_two

    a = UsageRecord("openai", DAY, "a", "api")
    with pytest.raises(ValueError):
        merge_two(a, dataclasses.replace(a, model="b"))
