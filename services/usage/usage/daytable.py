"""One day of an account's usage in columnar form, the unit the summary cache keeps in memory.

Money stays exact without Decimal objects per entry: each day stores its costs as integers at
one scale (the most decimal places any cost of that day has), so sums are integer additions
and turn back into an exact Decimal at the end. Pure: no database, no gRPC.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, Rounded
from typing import Any

from svccommon.units import LEGACY_UNITS, canonical_units

FLAG_PROVISIONAL = 1
FLAG_ESTIMATED = 2

# A series is everything that identifies a record within its day. "project" and "api_key" are the
# provider's attribution ("" when it gives none).
SERIES_FIELDS = ("platform", "model", "source", "credential_id", "project", "api_key")
Series = tuple[str, str, str, str, str, str]
_INT64 = 2**63 - 1


class SeriesTable:
    """Every series an account has, numbered, so that days store small integers and equal
    series share one tuple."""

    def __init__(self) -> None:
        self.series: list[Series] = []
        self._ids: dict[Series, int] = {}

    def id_of(self, series: Series) -> int:
        found = self._ids.get(series)
        if found is None:
            found = self._ids[series] = len(self.series)
            self.series.append(series)
        return found


@dataclass
class Totals:
    """Cost (scaled integers per scale), unit counts, record count and flags of a group."""

    cost: dict[int, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    records: int = 0
    flags: int = 0

    def add_cost(self, scale: int, amount: int) -> None:
        self.cost[scale] = self.cost.get(scale, 0) + amount

    def add_units(self, units: Mapping[str, int]) -> None:
        for name, count in units.items():
            self.units[name] = self.units.get(name, 0) + count

    def merge(self, other: Totals) -> None:
        for scale, amount in other.cost.items():
            self.add_cost(scale, amount)
        self.add_units(other.units)
        self.records += other.records
        self.flags |= other.flags

    def cost_usd(self) -> Decimal:
        """The exact sum, without trailing zeros: the same text whatever the days' scales."""
        return canonical(exact_sum(scaled_decimal(amount, scale) for scale, amount in self.cost.items()))

    @property
    def provisional(self) -> bool:
        return bool(self.flags & FLAG_PROVISIONAL)

    @property
    def estimated(self) -> bool:
        return bool(self.flags & FLAG_ESTIMATED)


@dataclass(frozen=True)
class Entry:
    series: Series
    cost_usd: Decimal
    units: Mapping[str, int]
    flags: int = 0


@dataclass(frozen=True)
class DayTable:
    date: str
    rev: int  # the rollup revision it was built from; -1 when built from records
    scale: int
    series_ids: array
    costs: array | list[int]  # scaled by 10**scale; a list only when a value overflows int64
    units: dict[str, tuple[array, array]]  # unit -> (entry indexes, counts)
    flagged: tuple[tuple[int, int], ...]  # (entry index, flags) of the few flagged entries
    total: Totals
    by_platform: dict[str, Totals]

    def __len__(self) -> int:
        return len(self.series_ids)

    @classmethod
    def build(cls, date: str, rev: int, entries: Iterable[Entry], table: SeriesTable) -> DayTable:
        return cls.from_columns(date, rev, columns_of(entries), table)

    @classmethod
    def from_columns(cls, date: str, rev: int, columns: Mapping[str, Any], table: SeriesTable) -> DayTable:
        """A day from its stored columns (see ``columns_of``): no per-entry Decimal work."""
        platforms = columns["p"]
        # Rollups built before attribution have no "j"/"a" columns: their records had none.
        none = [""] * len(platforms)
        projects, api_keys = columns.get("j") or none, columns.get("a") or none
        series = zip(platforms, columns["m"], columns["s"], columns["k"], projects, api_keys, strict=True)
        raw = columns["cost"]
        costs: array | list[int] = (
            array("q", raw) if all(isinstance(c, int) for c in raw) else [int(c) for c in raw]
        )
        scale = int(columns["scale"])
        by_platform: dict[str, Totals] = {}
        for platform, cost in zip(platforms, costs, strict=True):
            acc = by_platform.get(platform)
            if acc is None:
                acc = by_platform[platform] = Totals()
            acc.cost[scale] = acc.cost.get(scale, 0) + cost
            acc.records += 1
        units: dict[str, tuple[array, array]] = {}
        unit_columns = columns["units"]
        if any(column["name"] in LEGACY_UNITS for column in unit_columns):
            unit_columns = canonical_unit_columns(platforms, unit_columns)  # a rollup built before
        for column in unit_columns:
            indexes, counts = array("i", column["i"]), array("q", column["v"])
            units[column["name"]] = (indexes, counts)
            for i, count in zip(indexes, counts, strict=True):
                acc_units = by_platform[platforms[i]].units
                acc_units[column["name"]] = acc_units.get(column["name"], 0) + count
        flagged = tuple((int(i), int(f)) for i, f in columns["flagged"])
        for i, flags in flagged:
            by_platform[platforms[i]].flags |= flags
        total = Totals()
        for acc in by_platform.values():
            total.merge(acc)
        return cls(
            date=date,
            rev=rev,
            scale=scale,
            series_ids=array("i", (table.id_of(s) for s in series)),
            costs=costs,
            units=units,
            flagged=flagged,
            total=total,
            by_platform=by_platform,
        )


def columns_of(entries: Iterable[Entry]) -> dict[str, Any]:
    """A day's entries as parallel columns, the form day rollups are stored in: series fields as
    four string lists, costs as integers at one scale (as text where one overflows int64), units
    as sparse (entry index, count) columns, and the few flagged entries."""
    rows = list(entries)
    scale = max((decimal_places(e.cost_usd) for e in rows), default=0)
    scaled = [to_scaled(e.cost_usd, scale) for e in rows]
    units: dict[str, tuple[list[int], list[int]]] = {}
    for i, entry in enumerate(rows):
        for name, count in entry.units.items():
            column = units.setdefault(name, ([], []))
            column[0].append(i)
            column[1].append(int(count))
    fits = all(-_INT64 <= c <= _INT64 for c in scaled)
    return {
        "p": [e.series[0] for e in rows],
        "m": [e.series[1] for e in rows],
        "s": [e.series[2] for e in rows],
        "k": [e.series[3] for e in rows],
        "j": [e.series[4] for e in rows],
        "a": [e.series[5] for e in rows],
        "scale": scale,
        "cost": scaled if fits else [str(c) for c in scaled],
        "units": [{"name": name, "i": i, "v": v} for name, (i, v) in sorted(units.items())],
        "flagged": [[i, e.flags] for i, e in enumerate(rows) if e.flags],
    }


def canonical_unit_columns(platforms: list[str], columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unit columns with legacy unit names translated (svccommon.units), entry by entry: the
    translation depends on the entry's platform and on its other units."""
    per_entry: dict[int, dict[str, int]] = {}
    for column in columns:
        for i, count in zip(column["i"], column["v"], strict=True):
            per_entry.setdefault(int(i), {})[column["name"]] = int(count)
    out: dict[str, tuple[list[int], list[int]]] = {}
    for i in sorted(per_entry):
        for name, count in canonical_units(platforms[i], per_entry[i]).items():
            entries, counts = out.setdefault(name, ([], []))
            entries.append(i)
            counts.append(count)
    return [{"name": name, "i": i, "v": v} for name, (i, v) in sorted(out.items())]


def decimal_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def to_scaled(value: Decimal, scale: int) -> int:
    """``value * 10**scale`` as an exact integer (``scale`` is at least its decimal places)."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite amount: {value}")
    magnitude = int("".join(map(str, digits)) or "0") * 10 ** (exponent + scale)
    return -magnitude if sign else magnitude


def scaled_decimal(amount: int, scale: int) -> Decimal:
    # Built from text: the Decimal constructor never rounds.
    return Decimal(f"{amount}E-{scale}") if scale else Decimal(amount)


def canonical(value: Decimal) -> Decimal:
    return value.normalize(_EXACT) if value else Decimal(0)


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """A sum that raises rather than round (decimal.Inexact), whatever the magnitudes."""
    total = Decimal(0)
    for value in values:
        total = _EXACT.add(total, value)
    return total


_EXACT = Context(prec=400, traps=[Inexact, Rounded])
