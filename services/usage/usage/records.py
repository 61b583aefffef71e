"""The normalized daily usage record that every connector produces.

One record per (platform, UTC day, model, source). Money is always an exact
``Decimal``: provider numbers are parsed from their JSON text (never via float)
so that totals match the provider's invoice to the cent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import date as dt_date  # `date` is also a field name inside UsageRecord
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Source = Literal["api", "file"]
SOURCES: frozenset[str] = frozenset({"api", "file"})

# Model key for money or usage a provider does not tie to a model (storage,
# tool sessions, taxes...). Kept as its own record so no money is dropped.
UNATTRIBUTED_MODEL = "(other)"

# Warning codes carried on records (the UI explains them).
PRICE_UNKNOWN = "price_unknown"
BYOK_BILLED_UPSTREAM = "byok_billed_upstream"
PRIORITY_COST_NOT_REPORTED = "priority_tier_cost_not_reported"
# A sync's provider answered this day with nothing; the stored record was kept (usage.emptydays).
PROVIDER_ANSWERED_EMPTY = "provider_answered_empty"
# ElevenLabs: the key may not read the workspace's usage, so only its owner's is counted.
WORKSPACE_USAGE_NOT_INCLUDED = "workspace_usage_not_included"


class DecimalParseError(ValueError):
    """A provider value that should be a number is not one."""


def to_decimal(value: Any) -> Decimal:
    """Parse a provider number exactly.

    Accepts ints, Decimals (JSON parsed with ``parse_float=Decimal``) and numeric
    strings such as ``"12.50"``. Floats are refused: they already lost exactness.
    """
    if isinstance(value, bool) or value is None:
        raise DecimalParseError(f"expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise DecimalParseError(f"not a decimal number: {value!r}") from exc
    else:
        raise DecimalParseError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise DecimalParseError(f"not a finite number: {value!r}")
    return result


def cents_to_usd(value: Any) -> Decimal:
    """Convert a cents amount (e.g. Anthropic's ``"123.45"``) to dollars exactly."""
    # scaleb shifts the exponent, so no rounding can happen whatever the precision.
    return to_decimal(value).scaleb(-2)


def to_count(value: Any) -> int:
    """Parse a unit count; accepts ``10``, ``"10"``, ``10.0`` as Decimal, refuses ``1.5``."""
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise DecimalParseError(f"expected a whole count, got {value!r}")
    return int(number)


@dataclass(frozen=True)
class LineItem:
    """One billed line as the provider names it (e.g. ``gpt-4o, input``)."""

    name: str
    # None when the provider reports money but no quantity for this line.
    quantity: Decimal | int | None
    unit: str
    cost_usd: Decimal

    def __post_init__(self) -> None:
        _require_decimal("cost_usd", self.cost_usd)
        if isinstance(self.quantity, (float, bool)):
            raise TypeError("quantity must be Decimal, int or None")


@dataclass(frozen=True)
class UsageRecord:
    """A normalized daily record for one model on one platform."""

    platform: str
    date: date
    model: str
    source: Source
    cost_usd: Decimal = Decimal(0)
    units: dict[str, int] = field(default_factory=dict)
    line_items: tuple[LineItem, ...] = ()
    provisional: bool = False
    estimated: bool = False
    currency_original: str = "USD"
    amount_original: Decimal | None = None
    warnings: tuple[str, ...] = ()
    # The provider's own grouping (docs/providers.md, Attribution): OpenAI project / Anthropic
    # workspace / Deepgram project, and the provider's API key id. "" = not attributed.
    project_id: str = ""
    api_key_id: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.date, datetime) or not isinstance(self.date, date):
            raise TypeError("date must be a datetime.date (UTC day), not a datetime")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {sorted(SOURCES)}")
        if not self.platform or not isinstance(self.model, str) or not self.model:
            raise ValueError("platform and model must be non-empty strings")
        if not isinstance(self.project_id, str) or not isinstance(self.api_key_id, str):
            raise TypeError("project_id and api_key_id must be strings")
        _require_decimal("cost_usd", self.cost_usd)
        if self.amount_original is not None:
            _require_decimal("amount_original", self.amount_original)
        for name, count in self.units.items():
            if not isinstance(count, int) or isinstance(count, bool):
                raise TypeError(f"unit {name!r} must be an int")
        # Accept any iterable from callers but keep the frozen record immutable.
        object.__setattr__(self, "line_items", tuple(self.line_items))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    @property
    def key(self) -> tuple[str, dt_date, str, str, str, str]:
        return (self.platform, self.date, self.model, self.source, self.project_id, self.api_key_id)


def _require_decimal(name: str, value: Any) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")


def add_units(total: dict[str, int], extra: Mapping[str, int]) -> dict[str, int]:
    """Sum unit counts into ``total`` (in place) and return it."""
    for name, count in extra.items():
        total[name] = total.get(name, 0) + count
    return total


def merge_two(a: UsageRecord, b: UsageRecord) -> UsageRecord:
    """Combine two partial records of the same key by summing them.

    Sum semantics serve both uses: a cost-only part plus a units-only part, and
    several provider rows (projects, endpoints) of the same model and day.
    """
    if a.key != b.key:
        raise ValueError(f"cannot merge records with different keys: {a.key} / {b.key}")
    if a.currency_original != b.currency_original:
        currency = "USD"
        amount = None  # mixed currencies have no single original amount
    else:
        currency = a.currency_original
        amounts = [x for x in (a.amount_original, b.amount_original) if x is not None]
        amount = sum(amounts, Decimal(0)) if amounts else None
    return dataclasses.replace(
        a,
        cost_usd=a.cost_usd + b.cost_usd,
        units=add_units(dict(a.units), b.units),
        line_items=a.line_items + b.line_items,
        provisional=a.provisional or b.provisional,
        estimated=a.estimated or b.estimated,
        currency_original=currency,
        amount_original=amount,
        warnings=tuple(dict.fromkeys(a.warnings + b.warnings)),
    )


def merge_records(records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """Merge partial records sharing a key; output keeps first-seen key order.

    Line items with the same name and unit (e.g. one per project) are summed too.
    """
    merged: dict[tuple[str, date, str, str, str, str], UsageRecord] = {}
    for record in records:
        current = merged.get(record.key)
        merged[record.key] = record if current is None else merge_two(current, record)
    return [dataclasses.replace(r, line_items=consolidate_line_items(r.line_items)) for r in merged.values()]


def consolidate_line_items(items: Iterable[LineItem]) -> tuple[LineItem, ...]:
    by_key: dict[tuple[str, str], LineItem] = {}
    for item in items:
        seen = by_key.get((item.name, item.unit))
        if seen is None:
            by_key[(item.name, item.unit)] = item
            continue
        quantities = [q for q in (seen.quantity, item.quantity) if q is not None]
        by_key[(item.name, item.unit)] = LineItem(
            name=item.name,
            quantity=sum(quantities[1:], quantities[0]) if quantities else None,
            unit=item.unit,
            cost_usd=seen.cost_usd + item.cost_usd,
        )
    return tuple(by_key.values())


def format_usd(value: Decimal) -> str:
    """A plain decimal string, never exponent notation (``"0.000015"``, not ``"1.5E-5"``)."""
    text = format(value, "f")
    return "0" if text.strip("-0.") == "" else text


def total_cost(records: Iterable[UsageRecord]) -> Decimal:
    return sum((r.cost_usd for r in records), Decimal(0))
