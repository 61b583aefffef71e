"""Read side: the usage summary, record pages and the CSV export, always for one account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from svccommon import cursors
from svccommon.errors import InvalidArgument

from usage import limits
from usage.csvexport import csv_chunks
from usage.daytable import Totals, exact_sum
from usage.grouping import GROUP_FIELDS, GroupKey, Match, group
from usage.recordstore import KEY_FIELDS, RecordFilter, RecordStore, record_key
from usage.summarycache import SummaryCache
from usage.syncs import check_id

SOURCES = ("api", "file")
MAX_FILTER_VALUES = 50
MAX_FILTER_LENGTH = 200
MAX_TOP = 1000


@dataclass(frozen=True)
class GroupRow:
    key: dict[str, str]
    cost_usd: Decimal
    units: dict[str, int]
    records: int
    provisional: bool = False
    estimated: bool = False
    names: dict[str, str] = field(default_factory=dict)  # "project_name"/"api_key_name" -> name

    @classmethod
    def of(cls, key: dict[str, str], totals: Totals, names: dict[str, str] | None = None) -> GroupRow:
        units = dict(sorted(totals.units.items()))
        return cls(
            key, totals.cost_usd(), units, totals.records, totals.provisional, totals.estimated, names or {}
        )


@dataclass(frozen=True)
class Summary:
    flt: RecordFilter
    total: GroupRow
    groups: list[GroupRow]
    others: GroupRow | None = None
    others_groups: int = 0

    @property
    def total_cost_usd(self) -> Decimal:
        return self.total.cost_usd

    @property
    def units(self) -> dict[str, int]:
        return self.total.units

    @property
    def records(self) -> int:
        return self.total.records


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date
    totals: GroupRow


@dataclass(frozen=True)
class MonthToDate:
    current: Period
    previous: Period

    @property
    def change_usd(self) -> Decimal:
        return exact_sum((self.current.totals.cost_usd, self.previous.totals.cost_usd.copy_negate()))

    @property
    def change_ratio(self) -> Decimal | None:
        before = self.previous.totals.cost_usd
        if before == 0:
            return None
        return (self.change_usd / before).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


class UsageQueries:
    def __init__(
        self, store: RecordStore, clock: Callable[[], dt.datetime], cache: SummaryCache | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.cache = cache or SummaryCache(store.rollup_store, store.rollups, store)

    def make_filter(
        self,
        account_id: str,
        from_date: str,
        to_date: str,
        platforms: Sequence[str] = (),
        models: Sequence[str] = (),
        source: str = "",
        credentials: Sequence[str] = (),
        projects: Sequence[str] = (),
        api_keys: Sequence[str] = (),
    ) -> RecordFilter:
        check_id(account_id, "account_id")
        days = limits.query_range(from_date, to_date, self.clock().date())
        if source and source not in SOURCES:
            raise InvalidArgument("source must be api or file")
        return RecordFilter(
            account_id,
            days.first,
            days.last,
            _values(platforms, "platform"),
            _values(models, "model"),
            source,
            _values(credentials, "credential_id", allow_empty=True),
            _values(projects, "project", allow_empty=True),
            _values(api_keys, "api_key", allow_empty=True),
        )

    def summary(self, flt: RecordFilter, group_by: Sequence[str], top: int = 0) -> Summary:
        names = list(group_by)
        unknown = [g for g in names if g not in GROUP_FIELDS]
        if unknown:
            raise InvalidArgument(f"group_by takes {', '.join(GROUP_FIELDS)}; got {unknown[0][:40]!r}")
        if len(set(names)) != len(names):
            raise InvalidArgument("group_by names a field twice")
        if not 0 <= top <= MAX_TOP:
            raise InvalidArgument(f"top must be between 1 and {MAX_TOP} (0: every group)")
        snapshot = self.cache.snapshot(flt.account_id, flt.first, flt.last)
        groups = group(snapshot.days, snapshot.table, names, _match(flt))
        total = Totals()
        for totals in groups.values():
            total.merge(totals)
        named = self._names(flt.account_id, names, groups)
        rows = [
            GroupRow.of(dict(zip(names, key, strict=True)), totals, named(key))
            for key, totals in sorted(groups.items())
        ]
        if not top or len(rows) <= top:
            return Summary(flt, GroupRow.of({}, total), rows)
        ranked = sorted(rows, key=lambda r: r.cost_usd, reverse=True)  # stable: ties keep key order
        folded = Totals()
        for key in (_key(r, names) for r in ranked[top:]):
            folded.merge(groups[key])
        return Summary(flt, GroupRow.of({}, total), ranked[:top], GroupRow.of({}, folded), len(ranked) - top)

    def _names(
        self, account_id: str, names: list[str], groups: dict[GroupKey, Totals]
    ) -> Callable[[GroupKey], dict[str, str]]:
        """The provider's current names of the project and API key ids in ``groups``."""
        found: dict[int, tuple[str, dict[str, str]]] = {}
        for kind in ("project", "api_key"):
            if kind in names:
                at = names.index(kind)
                ids = {key[at] for key in groups}
                found[at] = (f"{kind}_name", self.store.names.lookup(account_id, kind, ids))

        def named(key: GroupKey) -> dict[str, str]:
            return {label: by_id[key[at]] for at, (label, by_id) in found.items() if key[at] in by_id}

        return named

    def month_to_date(self, flt: RecordFilter, as_of: dt.date) -> MonthToDate:
        first = as_of.replace(day=1)
        previous_last_day = first - dt.timedelta(days=1)
        previous_first = previous_last_day.replace(day=1)
        previous_last = min(previous_first + dt.timedelta(days=as_of.day - 1), previous_last_day)
        snapshot = self.cache.snapshot(flt.account_id, previous_first, as_of)
        by_day = group(snapshot.days, snapshot.table, ["day"], _match(flt))
        current, previous = Totals(), Totals()
        for (day,), totals in by_day.items():
            if first.isoformat() <= day <= as_of.isoformat():
                current.merge(totals)
            elif day <= previous_last.isoformat():
                previous.merge(totals)
        return MonthToDate(
            Period(first, as_of, GroupRow.of({}, current)),
            Period(previous_first, previous_last, GroupRow.of({}, previous)),
        )

    def page(self, flt: RecordFilter, limit: int, cursor: str) -> tuple[list[dict[str, Any]], str]:
        size = limits.page_size(limit)
        docs = self.store.page(flt, size + 1, decode_cursor(cursor) if cursor else None)
        if len(docs) <= size:
            return docs, ""
        return docs[:size], encode_cursor(record_key(docs[size - 1]))

    def export(self, flt: RecordFilter) -> Iterator[bytes]:
        # The unit columns come from the day rollups: no scan of the records before the first row.
        snapshot = self.cache.snapshot(flt.account_id, flt.first, flt.last)
        units = sorted(group(snapshot.days, snapshot.table, [], _match(flt)).get((), Totals()).units)
        return csv_chunks(self.store.iterate(flt), units)


def _match(flt: RecordFilter) -> Match:
    return Match(
        frozenset(flt.platforms),
        frozenset(flt.models),
        frozenset([flt.source] if flt.source else []),
        frozenset(flt.credentials),
        frozenset(flt.projects),
        frozenset(flt.api_keys),
    )


def _key(row: GroupRow, names: list[str]) -> GroupKey:
    return tuple(row.key[n] for n in names)


def _values(values: Sequence[str], name: str, allow_empty: bool = False) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(v for v in values if v or allow_empty))
    if len(cleaned) > MAX_FILTER_VALUES:
        raise InvalidArgument(f"at most {MAX_FILTER_VALUES} {name} values per query")
    for value in cleaned:
        if len(value) > MAX_FILTER_LENGTH or not value.isprintable():
            raise InvalidArgument(f"{name} filter value is not valid")
    return cleaned


def encode_cursor(key: Sequence[str]) -> str:
    return cursors.encode(key)


def decode_cursor(cursor: str, size: int = len(KEY_FIELDS)) -> list[str]:
    """The key an earlier page ended at (`size` strings: a record key by default)."""
    try:
        key = cursors.decode(cursor, size)
        if not all(isinstance(k, str) for k in key):
            raise ValueError
        return key
    except ValueError:  # cursors.BadCursor is a ValueError
        raise InvalidArgument("cursor is not valid; start again without it") from None
