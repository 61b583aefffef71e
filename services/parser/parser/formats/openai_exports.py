"""OpenAI dashboard exports (docs/providers.md): the cost file (money per line
item and day) and the usage file (token and request counts per model and day, no money)."""

from __future__ import annotations

from decimal import Decimal

from svccommon import units

from parser.formats.base import KnownFormat, Row, data_rows
from parser.problems import row_problem
from parser.records import UNATTRIBUTED_MODEL, LineItem, ParseResult, RecordBuilder
from parser.tables import Table
from parser.values import is_blank, parse_count, parse_decimal, parse_iso_day, parse_money, show

PLATFORM = "openai"

COST = KnownFormat(
    "openai_cost_csv",
    PLATFORM,
    frozenset(
        {
            "start_time",
            "end_time",
            "amount_value",
            "amount_currency",
            "quantity",
            "quantity_unit",
            "line_item",
        }
    ),
)
USAGE = KnownFormat(
    "openai_usage_csv",
    PLATFORM,
    frozenset({"start_time", "end_time", "model", "num_model_requests", "input_tokens", "output_tokens"}),
)

# Cost line item kind (after "<model>, ") and quantity_unit → canonical unit (svccommon.units) and
# factor. The cost export bills cached input on its own line, so "input" is the uncached part.
_TOKEN_KINDS = {
    "input": units.INPUT_UNCACHED_TOKENS,
    "output": units.OUTPUT_TOKENS,
    "cached input": units.CACHE_READ_TOKENS,
}
_TOKEN_FACTORS = {"tokens": 1, "1000_tokens": 1000}
_OTHER_UNITS = {
    "images": ("images", 1),
    "characters": ("characters", 1),
    "duration_seconds": ("seconds", 1),
    "duration_minutes": ("seconds", 60),
    "duration_hours": ("seconds", 3600),
}

# Usage export column → canonical unit (svccommon.units), as the usage API connector maps them.
# input_tokens is handled apart: like the API's, it includes cached and cache-write tokens.
_USAGE_UNITS = {
    "output_tokens": units.OUTPUT_TOKENS,
    "input_cached_tokens": units.CACHE_READ_TOKENS,
    "input_cache_write_tokens": units.CACHE_WRITE_TOKENS,
    "num_model_requests": units.REQUESTS,
    "input_audio_tokens": units.INPUT_AUDIO_TOKENS,
    "output_audio_tokens": units.OUTPUT_AUDIO_TOKENS,
    "input_image_tokens": units.INPUT_IMAGE_TOKENS,
    "output_image_tokens": units.OUTPUT_IMAGE_TOKENS,
}

USAGE_HAS_NO_COST = (
    "This usage export has token counts but no costs: its records carry a cost of 0, and importing "
    "it replaces file records of the same days and models (including costs imported from a cost "
    "export). To see spend, import the cost export instead."
)


def split_line_item(line_item: str) -> tuple[str, str]:
    """'gpt-4o-2024-08-06, input' → (model, kind); 'evals | gpt-4o-mini, input' → the model after
    the last bar; items without ', ' (e.g. 'assistants api | file search') have no model."""
    head, sep, kind = line_item.partition(", ")
    if not sep or not head.strip():
        return UNATTRIBUTED_MODEL, ""
    return head.rsplit(" | ", 1)[-1].strip() or UNATTRIBUTED_MODEL, kind.strip().lower()


def _day(row: Row):
    if not is_blank(row.get("start_time_iso")):
        return parse_iso_day(row.get("start_time_iso"), "start_time_iso", row.number)
    if is_blank(row.get("start_time")):
        raise row_problem(row.number, "start_time is empty")
    return parse_iso_day(row.get("start_time"), "start_time", row.number)


def _cost_units(kind: str, unit: str, quantity: Decimal | None) -> dict[str, int]:
    if quantity is None:
        return {}
    if kind in _TOKEN_KINDS and unit in _TOKEN_FACTORS:
        name, factor = _TOKEN_KINDS[kind], _TOKEN_FACTORS[unit]
    elif unit in _OTHER_UNITS:
        name, factor = _OTHER_UNITS[unit]
    else:
        return {}
    amount = quantity * factor
    return {name: int(amount)} if amount == amount.to_integral_value() else {}


def parse_cost(table: Table) -> ParseResult:
    builder = RecordBuilder(PLATFORM)
    skipped = 0
    for row in data_rows(table):
        if is_blank(row.get("amount_value")):
            skipped += 1  # an empty bucket: no spend that day
            continue
        currency = row.get("amount_currency").strip().lower()
        if currency not in ("", "usd"):
            raise row_problem(
                row.number, f"amount_currency is {show(currency)}; only USD amounts are supported"
            )
        day = _day(row)
        cost = parse_money(row.get("amount_value"), "amount_value", row.number)
        quantity = None
        if not is_blank(row.get("quantity")):
            quantity = parse_decimal(row.get("quantity"), "quantity", row.number)
            if quantity < 0:
                raise row_problem(row.number, f"quantity is negative: {show(row.get('quantity'))}")
        name = row.get("line_item").strip() or "(unnamed line item)"
        model, kind = split_line_item(name)
        unit = row.get("quantity_unit").strip().lower()
        builder.add(
            day,
            model,
            cost,
            _cost_units(kind, unit, quantity),
            LineItem(name=name, quantity=quantity, unit=unit, cost_usd=cost),
        )
    warnings = [f"{skipped} empty buckets (no spend) were skipped."] if skipped else []
    return ParseResult(COST.name, PLATFORM, builder.build(), warnings)


def parse_usage(table: Table) -> ParseResult:
    builder = RecordBuilder(PLATFORM)
    for row in data_rows(table):
        day = _day(row)
        model = row.get("model").strip() or UNATTRIBUTED_MODEL
        counts = {}
        for column, unit in _USAGE_UNITS.items():
            if not is_blank(row.get(column)):
                counts[unit] = parse_count(row.get(column), column, row.number)
        total_input = (
            0
            if is_blank(row.get("input_tokens"))
            else parse_count(row.get("input_tokens"), "input_tokens", row.number)
        )
        cached = counts.get(units.CACHE_READ_TOKENS, 0) + counts.get(units.CACHE_WRITE_TOKENS, 0)
        if cached > total_input:
            raise row_problem(
                row.number, "input_cached_tokens is larger than input_tokens, which includes them"
            )
        counts[units.INPUT_UNCACHED_TOKENS] = total_input - cached
        builder.add(day, model, Decimal(0), counts)
    return ParseResult(USAGE.name, PLATFORM, builder.build(), [USAGE_HAS_NO_COST])
