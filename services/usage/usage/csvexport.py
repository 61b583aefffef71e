"""Records as CSV: RFC 4180 (csv module, CRLF, quoted where needed), streamed in chunks, and
safe to open in a spreadsheet (provider- or user-supplied text cells go through
svccommon.csvsafe, so none is a live formula)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from svccommon.csvsafe import safe_cell
from svccommon.units import canonical_units

from usage.records import format_usd
from usage.recordstore import from_d128

FIXED_COLUMNS = (
    "date",
    "platform",
    "model",
    "source",
    "cost_usd",
    "provisional",
    "estimated",
    "credential_id",
    "upload_id",
    "project",
    "api_key",
)
CHUNK_BYTES = 64 * 1024


def _number(value: Any) -> str:
    # Formatted here from Decimal128, so "-1.5" is a refund, never a formula.
    return format_usd(from_d128(value))


def unit_header(unit: str) -> str:
    return f"units.{unit}" if unit in FIXED_COLUMNS else unit


def csv_chunks(docs: Iterable[dict[str, Any]], units: Sequence[str]) -> Iterator[bytes]:
    """The header row, then one row per record, in UTF-8 chunks of about CHUNK_BYTES."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*FIXED_COLUMNS, *(safe_cell(unit_header(u)) for u in units)])
    for doc in docs:
        counts = canonical_units(doc["platform"], doc.get("units") or {})  # legacy names, read as new
        writer.writerow(
            [
                doc["date"],
                safe_cell(doc["platform"]),
                safe_cell(doc["model"]),
                safe_cell(doc["source"]),
                _number(doc.get("cost_usd")),
                "true" if doc.get("provisional") else "false",
                "true" if doc.get("estimated") else "false",
                safe_cell(doc.get("credential_id") or ""),
                safe_cell(doc.get("upload_id") or ""),
                safe_cell(doc.get("project_id") or ""),
                safe_cell(doc.get("api_key_id") or ""),
                *(str(int(counts[u])) if u in counts else "" for u in units),
            ]
        )
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()
