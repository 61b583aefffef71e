"""Any table with a day column and a cost column, recognized by header names. It reports which
column it used for each role, so the user can check the preview against their file."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from svccommon import units

from parser.formats.dates import parse_day, slash_order
from parser.problems import row_problem
from parser.records import UNATTRIBUTED_MODEL, LineItem, ParseResult, RecordBuilder
from parser.tables import Table
from parser.values import is_blank, parse_decimal, parse_money, show

NAME = "generic_table"
HEADER_SEARCH_ROWS = 20


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Role → header names (normalized: lower case, runs of other characters → "_"), best first.
ROLES: dict[str, tuple[str, ...]] = {
    "date": _words(
        "date day usage_date usage_date_utc date_utc usage_day billing_date invoice_date charge_date "
        "start_date usage_start_date period_start billing_period_start start_time_iso timestamp"
    ),
    "cost_usd": _words(
        "cost_usd cost cost_in_usd amount_usd amount total_cost_usd total_cost spend_usd spend charge_usd "
        "charge charges amount_value unblended_cost billed_cost net_cost cost_in_billing_currency "
        "costinbillingcurrency price_usd total_usd total"
    ),
    "model": _words(
        "model model_name model_id model_version model_display_name engine deployment deployment_name sku "
        "sku_description sku_name meter_name meter product_name product service_name service line_item "
        "description item"
    ),
    "currency": _words("currency currency_code amount_currency billing_currency billingcurrency"),
    "quantity": _words(
        "quantity usage_quantity usagequantity usage_amount consumed_quantity amount_in_pricing_units "
        "usage tokens"
    ),
    "unit": _words("unit unit_of_measure unitofmeasure quantity_unit usage_unit pricing_unit units"),
}
# A unit cell (normalized) → normalized usage unit and factor.
_UNIT_NAMES: dict[str, tuple[str, int]] = {
    **{name: ("characters", 1) for name in ("characters", "character", "chars")},
    **{name: ("seconds", 1) for name in ("seconds", "second", "secs")},
    **{name: ("seconds", 60) for name in ("minutes", "minute", "mins")},
    **{name: ("seconds", 3600) for name in ("hours", "hour")},
    **{name: ("images", 1) for name in ("images", "image")},
    **{name: ("requests", 1) for name in ("requests", "request", "calls")},
    # A billing file's priced input line is the input charged at the full rate: cache reads are
    # billed (and listed) apart, so it is the uncached input (svccommon.units).
    "input_tokens": (units.INPUT_UNCACHED_TOKENS, 1),
    "output_tokens": (units.OUTPUT_TOKENS, 1),
}
_TOTAL_LABEL = re.compile(r"^(grand\s+)?(sub)?total\b", re.IGNORECASE)


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lstrip("\ufeff").lower()).strip("_")


def find_columns(header: Sequence[str]) -> dict[str, int]:
    names: dict[str, int] = {}
    for i, cell in enumerate(header):
        names.setdefault(norm(cell), i)
    found: dict[str, int] = {}
    for role, synonyms in ROLES.items():
        for synonym in synonyms:
            if synonym in names and names[synonym] not in found.values():
                found[role] = names[synonym]
                break
    return found


def locate_header(table: Table) -> tuple[int, dict[str, int]] | None:
    """The first row (within the first few) naming both a day and a cost column."""
    for i, row in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        columns = find_columns(row)
        if "date" in columns and "cost_usd" in columns:
            return i, columns
    return None


def _is_total_row(day_text: str, cells: list[str]) -> bool:
    if _TOTAL_LABEL.match(day_text):
        return True
    return is_blank(day_text) and any(_TOTAL_LABEL.match(c) for c in cells if c)


def _cell(cells: list[str], i: int | None) -> str:
    return cells[i] if i is not None and i < len(cells) else ""


def _units(unit: str, quantity: Decimal | None) -> dict[str, int]:
    mapped = _UNIT_NAMES.get(norm(unit)) if unit else None
    if mapped is None or quantity is None:
        return {}
    amount = quantity * mapped[1]
    return {mapped[0]: int(amount)} if amount == amount.to_integral_value() else {}


def parse(table: Table, platform: str) -> ParseResult | None:
    """None when the table has no recognizable day and cost columns (the AI path may try)."""
    located = locate_header(table)
    if located is None:
        return None
    header_at, col = located
    header = table.rows[header_at]
    body = [
        (n, cells) for n, cells in enumerate(table.rows[header_at + 1 :], start=header_at + 2) if any(cells)
    ]
    date_values = [_cell(cells, col["date"]) for _, cells in body]
    order = slash_order(v for v in date_values if not _TOTAL_LABEL.match(v))
    builder = RecordBuilder(platform)
    totals: list[Decimal] = []
    warnings: list[str] = []
    names = {role: header[i] for role, i in col.items()}
    for number, cells in body:
        day_text, cost_text = _cell(cells, col["date"]), _cell(cells, col["cost_usd"])
        if _is_total_row(day_text, cells):
            if not is_blank(cost_text):
                totals.append(parse_money(cost_text, names["cost_usd"], number, decorated=True))
            continue
        if is_blank(day_text) and is_blank(cost_text):
            continue
        if is_blank(day_text):
            raise row_problem(number, f"{names['date']} is empty")
        if is_blank(cost_text):
            raise row_problem(number, f"{names['cost_usd']} is empty")
        currency = _cell(cells, col.get("currency")).strip().upper()
        if currency not in ("", "USD", "$"):
            raise row_problem(number, f"the currency is {show(currency)}; only USD amounts are supported")
        day = parse_day(day_text, names["date"], number, order)
        cost = parse_money(cost_text, names["cost_usd"], number, decorated=True)
        model = _cell(cells, col.get("model")).strip() or UNATTRIBUTED_MODEL
        quantity = None
        if not is_blank(_cell(cells, col.get("quantity"))):
            quantity = parse_decimal(
                _cell(cells, col["quantity"]), names["quantity"], number, allow_grouping=True
            )
            if quantity < 0:
                raise row_problem(number, f"{names['quantity']} is negative")
        unit = _cell(cells, col.get("unit")).strip()
        item = LineItem(model, quantity, unit, cost) if quantity is not None or unit else None
        builder.add(day, model, cost, _units(unit, quantity), item)
    if header_at:
        warnings.append(f"{header_at} rows above the column headers were ignored.")
    if "model" not in col:
        warnings.append(f"No model column was found; all costs are recorded under {UNATTRIBUTED_MODEL!r}.")
    result = ParseResult(NAME, platform, builder.build(), warnings, names)
    if len(totals) == 1 and totals[0] != result.total_cost_usd:
        warnings.append(
            f"The rows add up to {result.total_cost_usd} USD but the file's total row says {totals[0]} USD; "
            "check the preview before importing."
        )
    return result
