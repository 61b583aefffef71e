"""Daily spend series for alert evaluation and forecasts, read from the summary cache (the same
numbers as every summary: exact Decimal sums of the stored records)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from usage.forecast import DayCost
from usage.queries import UsageQueries
from usage.recordstore import RecordFilter

HISTORY_DAYS = 84  # twelve weeks: enough for weekday baselines and the trend


def daily(
    queries: UsageQueries,
    account_id: str,
    first: dt.date,
    last: dt.date,
    *,
    platforms: Sequence[str] = (),
    models: Sequence[str] = (),
    credentials: Sequence[str] = (),
) -> list[DayCost]:
    flt = RecordFilter(account_id, first, last, tuple(platforms), tuple(models), "", tuple(credentials))
    rows = queries.summary(flt, ["day"]).groups
    return [DayCost(dt.date.fromisoformat(r.key["day"]), r.cost_usd, r.provisional) for r in rows]


def series_by(
    queries: UsageQueries, account_id: str, first: dt.date, last: dt.date, fields: Sequence[str]
) -> dict[tuple[str, ...], dict[dt.date, Decimal]]:
    """Per value of `fields` (e.g. platform and model), its cost per day."""
    flt = RecordFilter(account_id, first, last)
    found: dict[tuple[str, ...], dict[dt.date, Decimal]] = defaultdict(dict)
    for row in queries.summary(flt, ["day", *fields]).groups:
        key = tuple(row.key[f] for f in fields)
        found[key][dt.date.fromisoformat(row.key["day"])] = row.cost_usd
    return dict(found)


def daily_by(
    queries: UsageQueries, account_id: str, first: dt.date, last: dt.date, field: str
) -> dict[str, list[DayCost]]:
    """Per value of `field` (e.g. platform), its daily series, provisional days marked."""
    flt = RecordFilter(account_id, first, last)
    found: dict[str, list[DayCost]] = defaultdict(list)
    for row in queries.summary(flt, ["day", field]).groups:
        day = dt.date.fromisoformat(row.key["day"])
        found[row.key[field]].append(DayCost(day, row.cost_usd, row.provisional))
    return dict(found)
