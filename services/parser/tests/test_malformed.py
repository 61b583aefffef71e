"""Bad files get one clear error each, with the status the user sees: bad dates, negative costs,
wrong encodings, empty and header-only files, unknown types, oversized files, zip bombs."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from parser.parse import FileToParse, Parser
from parser.problems import TooLarge, Unreadable, UnsupportedType
from parser.tables import check_xlsx_archive

OPENAI_COST_HEADER = (
    "start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,quantity,quantity_unit,"
    "line_item,user_id,api_key_id,project_id,organization_id,project_name,organization_name,user_email,api_source"
)
ANTHROPIC_COST_HEADER = (
    "usage_date_utc,model,workspace,api_key,usage_type,context_window,token_type,cost_usd,list_price_usd,"
    "cost_type,inference_geo,speed"
)


def parse(data: bytes, limits, filename: str = "file.csv", platform: str = ""):
    def no_ai() -> None:
        raise AssertionError("must not reach the AI path")

    return Parser(limits, None, 100_000).parse(FileToParse(data, filename, platform, "free"), no_ai)


def openai_row(
    day_iso: str = "2025-01-01T00:00:00+00:00", amount: str = "1.00", currency: str = "usd"
) -> str:
    end = "2025-01-02T00:00:00+00:00"
    return f'1735689600,1735776000,{day_iso},{end},{amount},{currency},1,tokens,"gpt-4o, input",,,,,,,,'


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            openai_row(day_iso="2025-13-45T00:00:00Z"),
            "line 2: start_time_iso is not a date: '2025-13-45T00:00:00Z'",
        ),
        (openai_row(day_iso="yesterday"), "line 2: start_time_iso is not a date"),
        (openai_row(day_iso="1999-01-01T00:00:00Z"), "start_time_iso is out of range: 1999-01-01"),
        (openai_row(day_iso="2999-01-01T00:00:00Z"), "start_time_iso is out of range: 2999-01-01"),
        (openai_row(amount="-0.50"), "line 2: amount_value is negative ('-0.50'); credits and refunds"),
        (openai_row(amount="12.50.1"), "line 2: amount_value is not a number: '12.50.1'"),
        (openai_row(amount="NaN"), "amount_value is not a number"),
        (openai_row(currency="eur"), "amount_currency is 'eur'; only USD amounts are supported"),
    ],
)
def test_bad_openai_rows(limits, row, message):
    data = f"{OPENAI_COST_HEADER}\n{openai_row()}\n{row}\n".encode()
    with pytest.raises(Unreadable) as caught:
        parse(data, limits)
    assert message in caught.value.message.replace("line 3", "line 2")


def test_bad_rows_name_the_line(limits):
    data = f"{ANTHROPIC_COST_HEADER}\n"
    data += "2025-08-01,Claude Haiku 4.5,D,k,standard,0-200k,output_tokens,1,1,tokens,g,--\n"
    data += "2025-08-02,Claude Haiku 4.5,D,k,standard,0-200k,output_tokens,-3.00,3,tokens,g,--\n"
    with pytest.raises(Unreadable, match=r"^line 3: cost_usd is negative"):
        parse(data.encode(), limits)


def test_generic_negative_and_parenthesized_costs(limits):
    with pytest.raises(Unreadable, match="Cost is negative"):
        parse(b"Date,Cost\n2025-01-01,(1.00)\n", limits, platform="groq")
    with pytest.raises(Unreadable, match="Cost is negative"):
        parse(b"Date,Cost\n2025-01-01,$-1.00\n", limits, platform="groq")


def test_generic_other_currency_is_refused(limits):
    with pytest.raises(Unreadable, match="the currency is 'EUR'"):
        parse(b"date,cost,currency\n2025-01-01,1.00,EUR\n", limits, platform="groq")


def test_wrong_encoding(limits):
    latin1 = "date,model,cost\n2025-01-01,modèle,1.00\n".encode("latin-1")
    with pytest.raises(Unreadable, match=r"not UTF-8 text \(invalid byte at position 30\)"):
        parse(latin1, limits, platform="groq")


def test_utf16_is_named(limits):
    with pytest.raises(Unreadable, match="UTF-16"):
        parse("date,cost\n".encode("utf-16"), limits)


def test_utf8_with_bom_is_fine(limits):
    _, result = parse(b"\xef\xbb\xbfdate,model,cost\n2025-01-01,claude-x,1.00\n", limits)
    assert result.platform == "anthropic"


@pytest.mark.parametrize("data", [b"", b"   \n\n  \n"])
def test_empty_file(limits, data):
    with pytest.raises(Unreadable, match="empty|no content"):
        parse(data, limits)


@pytest.mark.parametrize(
    "header",
    [
        OPENAI_COST_HEADER,
        "start_time,end_time,start_time_iso,end_time_iso,project_id,num_model_requests,user_id,api_key_id,model,"
        "batch,service_tier,input_tokens,output_tokens",
        ANTHROPIC_COST_HEADER,
        "usage_date_utc,model_version,api_key,workspace,usage_type,context_window,usage_input_tokens_no_cache,"
        "usage_output_tokens",
        "Date,Model,Cost",
    ],
)
def test_header_only(limits, header):
    with pytest.raises(Unreadable, match="column headers but no data rows"):
        parse(f"{header}\n".encode(), limits, platform="groq" if header.startswith("Date") else "")


def test_only_empty_buckets(limits):
    data = f"{OPENAI_COST_HEADER}\n1735689600,1735776000,2025-01-01T00:00:00Z,,,,,,,,,,,,,,\n".encode()
    with pytest.raises(Unreadable, match="no costs or usage"):
        parse(data, limits)


def test_unrecognized_table_on_free_plan_needs_professional(limits):
    from parser.problems import PlanRequired

    with pytest.raises(PlanRequired, match="Professional plan"):
        parse(b"foo,bar\n1,2\n", limits)


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "chart.png", "files ending in .png are not accepted"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "", "this kind of file is not supported"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "bill.csv", "this kind of file is not supported"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
            "old.xls",
            "files ending in .xls are not accepted",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "", "old Excel (.xls)"),
        (b"date,cost\n2025-01-01,1\n", "invoice.pdf", "not what its .pdf name says"),
        (b"%PDF-1.4\n", "bill.csv", "not what its .csv name says"),
    ],
)
def test_unknown_or_mismatched_types(limits, data, filename, message):
    with pytest.raises(
        UnsupportedType, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
    ):
        parse(data, limits, filename=filename)


def test_zip_that_is_not_a_workbook(limits):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(UnsupportedType, match="ZIP archives other than Excel workbooks"):
        parse(out.getvalue(), limits, filename="")


def test_oversized_file(default_limits):
    limits = default_limits(max_upload_bytes=1024)
    with pytest.raises(TooLarge, match="larger than"):
        parse(b"date,cost\n" + b"2025-01-01,1.00\n" * 100, limits)


def test_too_many_rows(default_limits):
    limits = default_limits(max_rows=10)
    with pytest.raises(TooLarge, match="more than 10 rows"):
        parse(b"date,model,cost\n" + b"2025-01-01,claude-x,1.00\n" * 20, limits)


def test_too_many_records(default_limits):
    limits = default_limits(max_records=3)
    rows = "".join(f"2025-01-{d:02d},claude-x,1.00\n" for d in range(1, 6))
    with pytest.raises(TooLarge, match="5 daily records; at most 3"):
        parse(f"date,model,cost\n{rows}".encode(), limits)


def _bomb(member_bytes: int) -> bytes:
    """An XLSX-shaped archive whose one sheet inflates to member_bytes of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(member_bytes // len(chunk)):
                sheet.write(chunk)
    return out.getvalue()


@pytest.fixture
def openpyxl_must_not_open(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the workbook was opened before the archive check")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def test_zip_bomb_rejected_by_ratio_before_opening(limits, openpyxl_must_not_open):
    bomb = _bomb(32 * 1024 * 1024)
    assert len(bomb) < 100 * 1024  # ~1000:1
    with pytest.raises(TooLarge, match="possible zip bomb"):
        parse(bomb, limits, filename="bill.xlsx")


def test_zip_bomb_rejected_by_total_size_before_opening(default_limits, openpyxl_must_not_open):
    limits = default_limits(xlsx_max_uncompressed_bytes=8 * 1024 * 1024, xlsx_max_ratio=100_000)
    with pytest.raises(TooLarge, match="expands to 16 MB, more than the 8 MB allowed"):
        parse(_bomb(16 * 1024 * 1024), limits, filename="bill.xlsx")


def test_archive_with_too_many_parts(default_limits):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(30):
            archive.writestr(f"xl/part{i}.xml", "<x/>")
    with pytest.raises(TooLarge, match="more than 20 parts"):
        check_xlsx_archive(out.getvalue(), default_limits(xlsx_max_entries=20))


def test_damaged_workbook(limits):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "not xml at all")
        archive.writestr("xl/workbook.xml", "<<<")
    with pytest.raises(Unreadable, match="workbook could not be opened"):
        parse(out.getvalue(), limits, filename="bill.xlsx")


def test_workbook_with_billion_laughs_is_not_expanded(limits):
    """openpyxl parses through defusedxml: an entity bomb in a sheet is refused, not expanded."""
    book = openpyxl.Workbook()
    book.active.append(["date", "cost"])
    raw = io.BytesIO()
    book.save(raw)
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData>'
        "</worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = laughs.encode() if item.filename == "xl/worksheets/sheet1.xml" else src.read(item)
            dst.writestr(item, data)
    with pytest.raises(Unreadable, match="workbook could not be"):
        parse(out.getvalue(), limits, filename="bill.xlsx")
