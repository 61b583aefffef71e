"""Anthropic Console exports (docs/providers.md): the cost file (dollars per
model, token type and day; model as a display name) and the usage file (token counts)."""

from __future__ import annotations

import re
from decimal import Decimal

from svccommon import units

from parser.formats.base import KnownFormat, Row, data_rows
from parser.problems import row_problem
from parser.records import UNATTRIBUTED_MODEL, LineItem, ParseResult, RecordBuilder
from parser.tables import Table
from parser.values import is_blank, parse_count, parse_iso_day, parse_money

PLATFORM = "anthropic"

# Older cost files lack list_price_usd, inference_geo and speed, so those are not required.
COST = KnownFormat(
    "anthropic_cost_csv",
    PLATFORM,
    frozenset({"usage_date_utc", "model", "token_type", "cost_usd", "cost_type"}),
)
USAGE = KnownFormat(
    "anthropic_usage_csv",
    PLATFORM,
    frozenset({"usage_date_utc", "model_version", "usage_input_tokens_no_cache", "usage_output_tokens"}),
)

USAGE_HAS_NO_COST = (
    "This usage export has token counts but no costs: its records carry a cost of 0, and importing "
    "it replaces file records of the same days and models (including costs imported from a cost "
    "export). To see spend, import the cost export instead."
)


def model_id(display: str) -> str:
    """'Claude Haiku 4.5' → 'claude-haiku-4-5' (the alias form of the API's model ids)."""
    text = display.strip()
    if not text or text == "--":
        return UNATTRIBUTED_MODEL
    if " " not in text:
        return text
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or UNATTRIBUTED_MODEL


def _day(row: Row):
    if is_blank(row.get("usage_date_utc")):
        raise row_problem(row.number, "usage_date_utc is empty")
    return parse_iso_day(row.get("usage_date_utc"), "usage_date_utc", row.number)


def _line_item_name(row: Row) -> str:
    kind = row.get("token_type") if not is_blank(row.get("token_type")) else row.get("cost_type")
    parts = [row.get("model"), kind, row.get("usage_type"), row.get("context_window"), row.get("speed")]
    return ", ".join(p.strip() for p in parts if not is_blank(p)) or "(unnamed line item)"


def parse_cost(table: Table) -> ParseResult:
    builder = RecordBuilder(PLATFORM)
    skipped = 0
    for row in data_rows(table):
        day = _day(row)
        if is_blank(row.get("cost_usd")):
            skipped += 1
            continue
        cost = parse_money(row.get("cost_usd"), "cost_usd", row.number)  # dollars in the CSV
        name = _line_item_name(row)
        builder.add(day, model_id(row.get("model")), cost, None, LineItem(name, None, "", cost))
    warnings = [f"{skipped} rows without a cost were skipped."] if skipped else []
    return ParseResult(COST.name, PLATFORM, builder.build(), warnings)


def _count(row: Row, column: str) -> int:
    return 0 if is_blank(row.get(column)) else parse_count(row.get(column), column, row.number)


def parse_usage(table: Table) -> ParseResult:
    builder = RecordBuilder(PLATFORM)
    for row in data_rows(table):
        day = _day(row)
        # The columns are already split like svccommon.units: uncached, cache writes, cache reads.
        counts = {
            units.INPUT_UNCACHED_TOKENS: _count(row, "usage_input_tokens_no_cache"),
            units.CACHE_WRITE_TOKENS: _count(row, "usage_input_tokens_cache_write_5m")
            + _count(row, "usage_input_tokens_cache_write_1h"),
            units.CACHE_READ_TOKENS: _count(row, "usage_input_tokens_cache_read"),
            units.OUTPUT_TOKENS: _count(row, "usage_output_tokens"),
            units.WEB_SEARCH_CALLS: _count(row, "web_search_count"),
        }
        keep = (units.INPUT_UNCACHED_TOKENS, units.OUTPUT_TOKENS)
        counts = {k: v for k, v in counts.items() if v or k in keep}
        builder.add(day, model_id(row.get("model_version")), Decimal(0), counts)
    return ParseResult(USAGE.name, PLATFORM, builder.build(), [USAGE_HAS_NO_COST])
