"""The two baselines the summary figures are measured against.

- In memory: the same group-by in plain Python over the records already in this process (no
  database, no network): the practical floor of any summary.
- Direct aggregation: what the usage service did before day rollups, a $group over the records
  run with pymongo (kept here, verbatim in its logic, only as a baseline).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pymongo.collection import Collection

FIELDS = {"day": 0, "platform": 1, "model": 2}


@dataclass(frozen=True)
class Row:
    date: str
    platform: str
    model: str
    cost_usd: Decimal
    units: tuple[tuple[str, int], ...]


def in_memory(rows: Sequence[Row], first: dt.date, last: dt.date, group_by: Sequence[str]) -> dict:
    """(group key) -> [cost, units, records] over the rows whose day is in [first, last]."""
    lo, hi = first.isoformat(), last.isoformat()
    positions = [FIELDS[name] for name in group_by]
    out: dict[tuple[str, ...], list] = {}
    for row in rows:
        if not lo <= row.date <= hi:
            continue
        values = (row.date, row.platform, row.model)
        key = tuple(values[p] for p in positions)
        acc = out.get(key)
        if acc is None:
            acc = out[key] = [Decimal(0), {}, 0]
        acc[0] += row.cost_usd
        units = acc[1]
        for name, count in row.units:
            units[name] = units.get(name, 0) + count
        acc[2] += 1
    return out


def total_of(groups: dict) -> Decimal:
    return sum((acc[0] for acc in groups.values()), Decimal(0))


def direct_aggregation(
    records: Collection, account_id: str, first: dt.date, last: dt.date, group_by: Iterable[str]
) -> dict:
    """The pre-rollup summary: cost and count per group, then unit totals, both in Mongo."""
    match = {
        "$match": {
            "account_id": account_id,
            "date": {"$gte": first.isoformat(), "$lt": (last + dt.timedelta(days=1)).isoformat()},
        }
    }
    fields = {name: "$" + ("date" if name == "day" else name) for name in group_by}
    out: dict[tuple[str, ...], list] = {}
    for row in records.aggregate(
        [match, {"$group": {"_id": fields, "cost": {"$sum": "$cost_usd"}, "n": {"$sum": 1}}}],
        hint="record_key",
    ):
        key = tuple(str(row["_id"].get(name) or "") for name in fields)
        out[key] = [row["cost"].to_decimal(), {}, int(row["n"])]
    project = {("date" if n == "day" else n): 1 for n in fields}
    for row in records.aggregate(
        [
            match,
            {"$project": {**project, "u": {"$objectToArray": "$units"}}},
            {"$unwind": "$u"},
            {"$group": {"_id": {**fields, "unit": "$u.k"}, "n": {"$sum": "$u.v"}}},
        ],
        hint="record_key",
    ):
        key = tuple(str(row["_id"].get(name) or "") for name in fields)
        if key in out:
            out[key][1][str(row["_id"]["unit"])] = int(row["n"])
    return out
