"""Read side: the usage summary, record pages and the CSV export, always for one account."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from svccommon.errors import InvalidArgument

from usage import limits
from usage.csvexport import csv_chunks
from usage.recordstore import GROUP_FIELDS, KEY_FIELDS, Group, RecordFilter, RecordStore, record_key
from usage.syncs import check_id

SOURCES = ("api", "file")
MAX_FILTER_VALUES = 50
MAX_FILTER_LENGTH = 200


@dataclass(frozen=True)
class Summary:
    flt: RecordFilter
    total_cost_usd: Decimal
    units: dict[str, int]
    groups: list[Group]
    records: int


class UsageQueries:
    def __init__(self, store: RecordStore, clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.clock = clock

    def make_filter(
        self,
        account_id: str,
        from_date: str,
        to_date: str,
        platforms: Sequence[str] = (),
        models: Sequence[str] = (),
        source: str = "",
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
        )

    def summary(self, flt: RecordFilter, group_by: Sequence[str]) -> Summary:
        names = list(group_by)
        unknown = [g for g in names if g not in GROUP_FIELDS]
        if unknown:
            raise InvalidArgument(f"group_by takes {', '.join(GROUP_FIELDS)}; got {unknown[0][:40]!r}")
        if len(set(names)) != len(names):
            raise InvalidArgument("group_by names a field twice")
        groups = self.store.summary(flt, names)
        units: dict[str, int] = {}
        with localcontext() as ctx:
            ctx.prec = 60  # exact for any realistic sum of Decimal128 values
            total = sum((g.cost_usd for g in groups), Decimal(0))
        for group in groups:
            for unit, count in group.units.items():
                units[unit] = units.get(unit, 0) + count
        return Summary(flt, total, dict(sorted(units.items())), groups, sum(g.records for g in groups))

    def page(self, flt: RecordFilter, limit: int, cursor: str) -> tuple[list[dict[str, Any]], str]:
        size = limits.page_size(limit)
        docs = self.store.page(flt, size + 1, decode_cursor(cursor) if cursor else None)
        if len(docs) <= size:
            return docs, ""
        return docs[:size], encode_cursor(record_key(docs[size - 1]))

    def export(self, flt: RecordFilter) -> Iterator[bytes]:
        units = self.store.unit_names(flt)
        return csv_chunks(self.store.iterate(flt), units)


def _values(values: Sequence[str], name: str) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(v for v in values if v))
    if len(cleaned) > MAX_FILTER_VALUES:
        raise InvalidArgument(f"at most {MAX_FILTER_VALUES} {name} values per query")
    for value in cleaned:
        if len(value) > MAX_FILTER_LENGTH or not value.isprintable():
            raise InvalidArgument(f"{name} filter value is not valid")
    return cleaned


def encode_cursor(key: Sequence[str]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[str]:
    try:
        if len(cursor) > 2048:
            raise ValueError
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (
            not isinstance(key, list)
            or len(key) != len(KEY_FIELDS)
            or not all(isinstance(k, str) for k in key)
        ):
            raise ValueError
        return key
    except (ValueError, TypeError):
        raise InvalidArgument("cursor is not valid; start again without it") from None
