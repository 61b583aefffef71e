"""The normalized daily record a billing file turns into, and the builder that sums a file's
rows into one record per (platform, day, model) — the same key the usage service stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from datetime import date as dt_date  # `date` is also a field name inside Record
from decimal import Decimal

# Money or usage that no model owns (storage, taxes, tool sessions): kept so no money is dropped.
UNATTRIBUTED_MODEL = "(other)"
MAX_NAME = 200  # the usage service stores model and line item names of 1-200 printable characters


def clean_name(text: str, default: str = UNATTRIBUTED_MODEL) -> str:
    """Printable, trimmed, at most MAX_NAME characters (cells can hold anything)."""
    if text.isprintable() and len(text) <= MAX_NAME and "  " not in text and text == text.strip():
        return text or default  # the usual case, without rebuilding the string
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return cleaned[:MAX_NAME].strip() or default


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: Decimal | None  # None: the file gives money but no quantity
    unit: str
    cost_usd: Decimal


@dataclass
class Record:
    platform: str
    date: date
    model: str
    cost_usd: Decimal = Decimal(0)
    units: dict[str, int] = field(default_factory=dict)
    line_items: list[LineItem] = field(default_factory=list)
    estimated: bool = False

    @property
    def key(self) -> tuple[str, dt_date, str]:
        return (self.platform, self.date, self.model)


@dataclass
class ParseResult:
    parser: str
    platform: str
    records: list[Record]
    warnings: list[str] = field(default_factory=list)
    columns_used: dict[str, str] = field(default_factory=dict)

    @property
    def total_cost_usd(self) -> Decimal:
        return sum((r.cost_usd for r in self.records), Decimal(0))


class RecordBuilder:
    """Sums rows into records; line items with the same name and unit are summed too."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self._records: dict[tuple[date, str], Record] = {}
        self._items: dict[tuple[date, str], dict[tuple[str, str], LineItem]] = {}

    def add(
        self,
        day: date,
        model: str,
        cost_usd: Decimal = Decimal(0),
        units: Mapping[str, int] | None = None,
        line_item: LineItem | None = None,
    ) -> None:
        key = (day, clean_name(model))
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = Record(self.platform, day, key[1])
            self._items[key] = {}
        record.cost_usd += cost_usd
        for name, count in (units or {}).items():
            record.units[name] = record.units.get(name, 0) + count
        if line_item is not None:
            line_item = LineItem(
                clean_name(line_item.name, key[1]),
                line_item.quantity,
                line_item.unit[:64],
                line_item.cost_usd,
            )
            items = self._items[key]
            earlier = items.get((line_item.name, line_item.unit))
            items[(line_item.name, line_item.unit)] = (
                line_item if earlier is None else _sum_items(earlier, line_item)
            )

    def __len__(self) -> int:
        return len(self._records)

    def build(self) -> list[Record]:
        out = []
        for key in sorted(self._records):
            record = self._records[key]
            record.line_items = sorted(self._items[key].values(), key=lambda i: (i.name, i.unit))
            out.append(record)
        return out


def _sum_items(a: LineItem, b: LineItem) -> LineItem:
    if a.quantity is None and b.quantity is None:
        quantity = None
    else:
        quantity = (a.quantity or Decimal(0)) + (b.quantity or Decimal(0))
    return LineItem(a.name, quantity, a.unit, a.cost_usd + b.cost_usd)
