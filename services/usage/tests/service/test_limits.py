"""Sync and query ranges: defaults, the 365-day reach, no future days."""

from __future__ import annotations

import datetime as dt

import pytest
from svccommon.errors import InvalidArgument
from usage.limits import DayRange, page_size, query_range, sync_range

TODAY = dt.date(2026, 9, 30)


def test_sync_defaults_per_reason() -> None:
    assert sync_range("", "", "manual", TODAY) == DayRange(dt.date(2026, 9, 1), TODAY)
    assert sync_range("", "", "backfill", TODAY).days == 90
    assert sync_range("2026-09-29", "2026-12-01", "manual", TODAY) == DayRange(dt.date(2026, 9, 29), TODAY)
    assert sync_range("2025-10-01", "", "manual", TODAY).days == 365


@pytest.mark.parametrize(
    ("frm", "to", "message"),
    [
        ("2025-09-30", "", "at most 365 days"),
        ("2026-10-01", "2026-10-02", "future"),
        ("2026-09-10", "2026-09-01", "after"),
        ("30/09/2026", "", "YYYY-MM-DD"),
    ],
)
def test_sync_range_refusals(frm: str, to: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        sync_range(frm, to, "manual", TODAY)


def test_query_range_and_page_size() -> None:
    assert query_range("", "", TODAY) == DayRange(dt.date(2026, 9, 1), TODAY)
    assert query_range("", "2026-01-31", TODAY).first == dt.date(2026, 1, 2)
    with pytest.raises(InvalidArgument, match="at most"):
        query_range("2020-01-01", "2026-01-01", TODAY)
    assert page_size(0) == 100 and page_size(500) == 500
    with pytest.raises(InvalidArgument):
        page_size(501)


@pytest.mark.parametrize(
    ("frm", "to"), [("", "0001-01-05"), ("0001-01-01", "0001-01-02"), ("", "9999-12-31")]
)
def test_days_outside_the_supported_years_are_refused(frm: str, to: str) -> None:
    # Without the bound, the default `from` (29 days before `to`) or `to` + 1 day overflows.
    with pytest.raises(InvalidArgument, match="from 1970-01-01 to 9998-12-31"):
        query_range(frm, to, TODAY)
    with pytest.raises(InvalidArgument, match="from 1970-01-01 to 9998-12-31"):
        sync_range(frm, to, "manual", TODAY)
