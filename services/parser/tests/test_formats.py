"""The deterministic parsers on fixture files written from the columns docs/providers.md documents:
exact totals, one record per (day, model), the right units, and the same result from XLSX."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from parser.detect import Kind
from parser.parse import FileToParse, Parser
from parser.problems import BadRequest, Unreadable


def parse(data: bytes, limits, filename: str = "file.csv", platform: str = "", plan: str = "free"):
    def no_ai() -> None:
        raise AssertionError("deterministic files must not reach the AI path")

    return Parser(limits, None, 100_000).parse(FileToParse(data, filename, platform, plan), no_ai)


def by_key(result):
    return {(r.date.isoformat(), r.model): r for r in result.records}


def to_xlsx(csv_text: str, title_rows: int = 0) -> bytes:
    import csv

    book = openpyxl.Workbook()
    sheet = book.active
    for _ in range(title_rows):
        sheet.append(["Exported from the console"])
    for row in csv.reader(io.StringIO(csv_text)):
        sheet.append([_typed(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _typed(cell: str):
    """Numbers as spreadsheet numbers, like a user's Excel would store them."""
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        return float(cell)
    except ValueError:
        return cell


def test_openai_cost_csv(limits, fixture_bytes):
    kind, result = parse(fixture_bytes("openai_cost.csv"), limits)
    assert kind == Kind.CSV
    assert result.parser == "openai_cost_csv" and result.platform == "openai"
    assert result.total_cost_usd == Decimal("0.2343")
    records = by_key(result)
    assert set(records) == {
        ("2025-01-01", "gpt-4o-2024-08-06"),
        ("2025-01-01", "gpt-4o-mini-2024-07-18"),
        ("2025-01-01", "(other)"),
        ("2025-01-02", "gpt-4o-2024-08-06"),
        ("2025-01-02", "gpt-4o-mini-2024-07-18"),
    }
    gpt4o = records[("2025-01-01", "gpt-4o-2024-08-06")]
    assert gpt4o.cost_usd == Decimal("0.0875")
    assert gpt4o.units == {"input_uncached_tokens": 15000, "output_tokens": 5000}
    assert [(i.name, i.quantity, i.unit, i.cost_usd) for i in gpt4o.line_items] == [
        ("gpt-4o-2024-08-06, input", Decimal("15000.0"), "tokens", Decimal("0.0375")),
        ("gpt-4o-2024-08-06, output", Decimal("5000.0"), "tokens", Decimal("0.05")),
    ]
    other = records[("2025-01-01", "(other)")]
    assert other.cost_usd == Decimal("0.10") and other.line_items[0].quantity is None
    assert records[("2025-01-02", "gpt-4o-mini-2024-07-18")].units == {"input_uncached_tokens": 2000}
    assert any("empty bucket" in w for w in result.warnings)


def test_openai_usage_csv_sums_projects_and_has_no_cost(limits, fixture_bytes):
    _, result = parse(fixture_bytes("openai_usage.csv"), limits)
    assert result.parser == "openai_usage_csv"
    records = by_key(result)
    # input_tokens (16000) include the 1000 cached ones, as the file's own
    # input_uncached_tokens column (14000 + 1000) shows: stored split (svccommon.units).
    assert records[("2025-01-01", "gpt-4o-2024-08-06")].units == {
        "input_uncached_tokens": 15000,
        "output_tokens": 5200,
        "cache_read_tokens": 1000,
        "requests": 15,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "input_image_tokens": 0,
        "output_image_tokens": 0,
    }
    assert result.total_cost_usd == 0
    assert any("no costs" in w for w in result.warnings)


def test_anthropic_cost_csv_dollars_and_display_names(limits, fixture_bytes):
    _, result = parse(fixture_bytes("anthropic_cost.csv"), limits, platform="anthropic")
    assert result.parser == "anthropic_cost_csv" and result.platform == "anthropic"
    assert result.total_cost_usd == Decimal("6.88")
    records = by_key(result)
    assert records[("2025-08-01", "claude-haiku-4-5")].cost_usd == Decimal("3.75")
    assert records[("2025-08-01", "claude-sonnet-4-5")].cost_usd == Decimal("0.0300")
    assert records[("2025-08-01", "(other)")].line_items[0].name == "web_search"
    assert records[("2025-08-02", "claude-haiku-4-5")].line_items[0].name == (
        "Claude Haiku 4.5, output_tokens, standard, 0-200k"
    )


def test_anthropic_cost_csv_older_layout(limits, fixture_bytes):
    _, result = parse(fixture_bytes("anthropic_cost_old.csv"), limits)
    assert result.parser == "anthropic_cost_csv"
    assert by_key(result)[("2024-11-05", "claude-3-5-sonnet")].cost_usd == Decimal("1.80")


def test_anthropic_usage_csv_units(limits, fixture_bytes):
    _, result = parse(fixture_bytes("anthropic_usage.csv"), limits)
    assert result.parser == "anthropic_usage_csv"
    haiku = by_key(result)[("2025-08-01", "claude-haiku-4-5-20251001")]
    assert haiku.units == {
        "input_uncached_tokens": 1600,
        "cache_write_tokens": 1500,
        "cache_read_tokens": 200,
        "output_tokens": 550,
        "web_search_calls": 10,
    }


def test_generic_table_reports_columns_and_guesses_platform(limits, fixture_bytes):
    _, result = parse(fixture_bytes("generic_spend.csv"), limits)
    assert result.parser == "generic_table"
    assert result.platform == "mistral"
    assert result.columns_used == {
        "date": "Date",
        "cost_usd": "Amount (USD)",
        "model": "Model",
        "quantity": "Quantity",
        "unit": "Unit",
    }
    assert result.total_cost_usd == Decimal("2.00")
    assert by_key(result)[("2025-03-01", "mistral-small-latest")].line_items[0].quantity == Decimal(1_000_000)
    assert any("rows above the column headers" in w for w in result.warnings)
    assert not any("total row says" in w for w in result.warnings)  # the total row matches


def test_generic_total_row_mismatch_is_a_warning(limits):
    data = b"date,model,cost\n2025-03-01,m1,1.00\n2025-03-02,m1,2.00\nTotal,,4.00\n"
    _, result = parse(data, limits, platform="cohere")
    assert result.total_cost_usd == Decimal("3.00")
    assert any("total row says 4.00" in w for w in result.warnings)


def test_generic_slash_dates_decided_per_column(limits):
    data = b"Date,Cost\n25/03/2025,1.50\n02/04/2025,2.50\n"
    _, result = parse(data, limits, platform="groq")
    assert [r.date for r in result.records] == [date(2025, 3, 25), date(2025, 4, 2)]


def test_generic_ambiguous_slash_dates_are_refused(limits):
    with pytest.raises(Unreadable, match="month/day or day/month"):
        parse(b"Date,Cost\n03/04/2025,1.50\n", limits, platform="groq")


def test_generic_without_platform_or_known_models_asks_for_it(limits):
    with pytest.raises(Unreadable, match="choose the platform"):
        parse(b"date,model,cost\n2025-03-01,house-model,1.00\n", limits)


def test_known_export_with_the_wrong_platform_is_refused(limits, fixture_bytes):
    with pytest.raises(Unreadable, match="openai export, but the platform chosen is anthropic"):
        parse(fixture_bytes("openai_cost.csv"), limits, platform="anthropic")


def test_unknown_platform_is_a_bad_request(limits, fixture_bytes):
    with pytest.raises(BadRequest, match="unknown platform"):
        parse(fixture_bytes("openai_cost.csv"), limits, platform="nosuch")


@pytest.mark.parametrize(
    "name", ["openai_cost.csv", "openai_usage.csv", "anthropic_cost.csv", "anthropic_usage.csv"]
)
def test_xlsx_gives_the_same_records_as_csv(limits, fixture_bytes, name):
    text = fixture_bytes(name).decode()
    _, from_csv = parse(text.encode(), limits)
    kind, from_xlsx = parse(to_xlsx(text), limits, filename="export.xlsx")
    assert kind == Kind.XLSX
    assert from_xlsx.parser == from_csv.parser
    assert from_xlsx.total_cost_usd == from_csv.total_cost_usd
    assert [(r.key, r.units) for r in from_xlsx.records] == [(r.key, r.units) for r in from_csv.records]


def test_xlsx_generic_with_title_rows_and_date_cells(limits):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Monthly AI spend"])
    sheet.append(["Day", "Service", "Spend"])
    sheet.append([date(2025, 5, 1), "gemini-2.5-pro", 12.5])
    sheet.append([date(2025, 5, 2), "gemini-2.5-flash", 0.1])
    out = io.BytesIO()
    book.save(out)
    _, result = parse(out.getvalue(), limits, filename="spend.xlsx")
    assert result.platform == "google"
    assert result.columns_used == {"date": "Day", "cost_usd": "Spend", "model": "Service"}
    assert result.total_cost_usd == Decimal("12.6")
