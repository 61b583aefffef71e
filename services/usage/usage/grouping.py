"""Group-by over day tables: the arithmetic of every summary shape. Pure: no database.

Two shortcuts skip the per-entry loop when a day's precomputed totals already answer: totals
per day, and per day and platform. Everything else walks the entries of the days in range once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from usage.daytable import SERIES_FIELDS, DayTable, Series, SeriesTable, Totals

GROUP_FIELDS = ("day", *SERIES_FIELDS)
GroupKey = tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """Which series count: each non-empty set restricts its field to those values."""

    platforms: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    credentials: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    api_keys: frozenset[str] = frozenset()

    def __call__(self, series: Series) -> bool:
        platform, model, source, credential, project, api_key = series
        return (
            (not self.platforms or platform in self.platforms)
            and (not self.models or model in self.models)
            and (not self.sources or source in self.sources)
            and (not self.credentials or credential in self.credentials)
            and (not self.projects or project in self.projects)
            and (not self.api_keys or api_key in self.api_keys)
        )

    @property
    def platforms_only(self) -> bool:
        return not (self.models or self.sources or self.credentials or self.projects or self.api_keys)


def group(
    days: Sequence[DayTable], table: SeriesTable, group_by: Sequence[str], match: Match
) -> dict[GroupKey, Totals]:
    """Totals per group key (the values of ``group_by``, in that order)."""
    names = list(group_by)
    series_names = [n for n in names if n != "day"]
    if not series_names and match == Match():
        return _by_day_totals(days, names, lambda day: [((), day.total)])
    if set(series_names) <= {"platform"} and match.platforms_only:
        wanted = match.platforms

        def platform_totals(day: DayTable) -> list[tuple[GroupKey, Totals]]:
            return [
                ((p,) if series_names else (), t)
                for p, t in day.by_platform.items()
                if not wanted or p in wanted
            ]

        return _by_day_totals(days, names, platform_totals)
    return _walk(days, table, names, series_names, match)


def _by_day_totals(days, names, parts) -> dict[GroupKey, Totals]:  # noqa: ANN001 (internal)
    out: dict[GroupKey, Totals] = {}
    for day in days:
        for key, totals in parts(day):
            if not totals.records:
                continue
            full = _with_day(key, day.date, names)
            acc = out.get(full)
            if acc is None:
                acc = out[full] = Totals()
            acc.merge(totals)
    return out


def _walk(
    days: Sequence[DayTable], table: SeriesTable, names: list[str], series_names: list[str], match: Match
) -> dict[GroupKey, Totals]:
    positions = [SERIES_FIELDS.index(n) for n in series_names]
    series = table.series
    keys: list[GroupKey | None] = [tuple(s[p] for p in positions) if match(s) else None for s in series]
    out: dict[GroupKey, Totals] = {}
    for day in days:
        costs: dict[GroupKey, int] = {}
        counts: dict[GroupKey, int] = {}
        ids = day.series_ids
        for sid, cost in zip(ids, day.costs, strict=True):
            key = keys[sid]
            if key is not None:
                costs[key] = costs.get(key, 0) + cost
                counts[key] = counts.get(key, 0) + 1
        if not costs:
            continue
        accs: dict[GroupKey, Totals] = {}
        for key, cost in costs.items():
            full = _with_day(key, day.date, names)
            acc = out.get(full)
            if acc is None:
                acc = out[full] = Totals()
            acc.add_cost(day.scale, cost)
            acc.records += counts[key]
            accs[key] = acc
        for unit, (indexes, values) in day.units.items():
            sums: dict[GroupKey, int] = {}
            for i, value in zip(indexes, values, strict=True):
                key = keys[ids[i]]
                if key is not None:
                    sums[key] = sums.get(key, 0) + value
            for key, value in sums.items():
                units = accs[key].units
                units[unit] = units.get(unit, 0) + value
        for i, flags in day.flagged:
            key = keys[ids[i]]
            if key is not None:
                accs[key].flags |= flags
    return out


def _with_day(key: GroupKey, date: str, names: list[str]) -> GroupKey:
    if "day" not in names:
        return key
    at = names.index("day")
    return (*key[:at], date, *key[at:])
