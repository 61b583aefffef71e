"""CSV and XLSX files to one plain table of strings, within row and column caps.

XLSX is a ZIP archive: its declared sizes are checked *before* openpyxl opens it (ASVS 5.2.3;
zipfile never inflates a member past its declared size, so the check bounds the real work), and
openpyxl parses XML through defusedxml (no entity expansion)."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import openpyxl
import openpyxl.xml

from parser.config import Limits
from parser.problems import TooLarge, Unreadable


@dataclass
class Table:
    rows: list[list[str]]  # every cell a stripped string; rows[0] is the file's first row
    source: str  # "CSV" or "sheet 'Name'", for messages

    def __len__(self) -> int:
        return len(self.rows)


def decode_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(
            f"the file is not UTF-8 text (invalid byte at position {exc.start}); "
            "export or save it as 'CSV UTF-8' and upload again"
        ) from None
    if "\x00" in text:
        raise Unreadable("the file contains NUL characters, so it is not a CSV text file")
    return text


def read_csv(data: bytes, limits: Limits) -> Table:
    text = decode_text(data)
    if not text.strip():
        raise Unreadable("the file has no content")
    dialect = _dialect(text[:16384])
    rows: list[list[str]] = []
    try:
        for cells in csv.reader(io.StringIO(text, newline=""), dialect):
            if len(rows) >= limits.max_rows:
                raise TooLarge(f"the file has more than {limits.max_rows} rows; split it into smaller files")
            if len(cells) > limits.max_columns:
                raise Unreadable(f"row {len(rows) + 1} has more than {limits.max_columns} columns")
            rows.append([c.strip() for c in cells])
    except csv.Error as exc:
        raise Unreadable(f"the CSV is malformed near row {len(rows) + 1}: {_csv_reason(exc)}") from None
    return Table(rows=_trim(rows), source="CSV")


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _csv_reason(exc: csv.Error) -> str:
    reason = str(exc)
    return reason if len(reason) < 120 and reason.isprintable() else "unreadable quoting"


def check_xlsx_archive(data: bytes, limits: Limits) -> None:
    """Reject zip bombs from the central directory alone, before anything is inflated."""
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError):
        raise Unreadable("the workbook is damaged (not a readable ZIP archive)") from None
    if len(infos) > limits.xlsx_max_entries:
        raise TooLarge(f"the workbook has more than {limits.xlsx_max_entries} parts")
    total = sum(i.file_size for i in infos)
    if total > limits.xlsx_max_uncompressed_bytes:
        raise TooLarge(
            f"the workbook expands to {total // (1024 * 1024)} MB, more than the "
            f"{limits.xlsx_max_uncompressed_bytes // (1024 * 1024)} MB allowed"
        )
    packed = sum(i.compress_size for i in infos)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > limits.xlsx_max_ratio:
            raise TooLarge(
                "the workbook is compressed suspiciously well (a possible zip bomb); it was not opened"
            )
    if total > 1024 * 1024 and total / max(packed, 1) > limits.xlsx_max_ratio:
        raise TooLarge(
            "the workbook is compressed suspiciously well (a possible zip bomb); it was not opened"
        )


def read_xlsx(data: bytes, limits: Limits) -> Table:
    check_xlsx_archive(data, limits)
    if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - defusedxml is a declared dependency
        raise RuntimeError("defusedxml must be installed before workbooks are opened")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for damaged files; none carries safe text
        raise Unreadable("the workbook could not be opened (damaged or not an Excel .xlsx file)") from None
    try:
        for sheet in book.worksheets:
            rows = _sheet_rows(sheet, limits)
            if rows:
                return Table(rows=rows, source=f"sheet {sheet.title!r}")
    except (TooLarge, Unreadable):
        raise
    except Exception:
        raise Unreadable("the workbook could not be read (damaged cells or sheets)") from None
    finally:
        book.close()
    raise Unreadable("the workbook has no data")


def _sheet_rows(sheet, limits: Limits) -> list[list[str]]:
    rows: list[list[str]] = []
    for values in sheet.iter_rows(values_only=True, max_col=limits.max_columns + 1):
        if len(rows) >= limits.max_rows:
            raise TooLarge(f"the sheet has more than {limits.max_rows} rows; split it into smaller files")
        cells = [_cell_text(v) for v in values]
        if len(cells) > limits.max_columns and cells[limits.max_columns]:
            raise Unreadable(f"row {len(rows) + 1} has more than {limits.max_columns} columns")
        rows.append(cells[: limits.max_columns])
    return _trim(rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # The workbook stores a binary double; its shortest repr is the number Excel shows.
        return repr(value) if value == value and abs(value) != float("inf") else ""
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).strip()


def _trim(rows: list[list[str]]) -> list[list[str]]:
    """Drop trailing empty cells and fully empty trailing rows (spreadsheets pad both)."""
    for row in rows:
        while row and not row[-1]:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows
