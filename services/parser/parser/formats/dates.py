"""Day columns of arbitrary spreadsheets: ISO forms, month names, and slash dates whose order
(month/day or day/month) is decided once per column from the values, never guessed per cell."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from parser.problems import Unreadable, row_problem
from parser.values import check_day, parse_iso_day, show

_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
_SLASHED = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T].*)?$")
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T].*)?$")
_NAMED_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%d-%b-%Y")


def slash_order(values: Iterable[str]) -> str | None:
    """'dmy' or 'mdy' when the column's slash dates decide it; None if it has none.
    Raises when every slash date fits both orders (03/04/2025 could be March or April)."""
    seen = False
    for value in values:
        match = _SLASHED.match(value.strip())
        if not match:
            continue
        seen = True
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12:
            return "dmy"
        if second > 12:
            return "mdy"
    if seen:
        raise Unreadable(
            "the dates (like 03/04/2025) could be month/day or day/month; "
            "export dates as YYYY-MM-DD and upload again"
        )
    return None


def parse_day(text: str, column: str, row: int, order: str | None) -> date:
    raw = text.strip()
    if _ISO_START.match(raw) or raw.isdigit():
        return parse_iso_day(raw, column, row)  # the common case first: ISO days and Unix seconds
    match = _SLASHED.match(raw)
    if match and order:
        a, b, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        month, day = (b, a) if order == "dmy" else (a, b)
        return check_day(_make(year, month, day, text, column, row), column, row)
    match = _YEAR_FIRST.match(raw)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return check_day(_make(year, month, day, text, column, row), column, row)
    if any(c.isalpha() for c in raw):  # month names; strptime is slow, so only when it can match
        for fmt in _NAMED_FORMATS:
            try:
                return check_day(datetime.strptime(raw, fmt).date(), column, row)
            except ValueError:
                continue
    return parse_iso_day(raw, column, row)


def _make(year: int, month: int, day: int, text: str, column: str, row: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise row_problem(row, f"{column} is not a date: {show(text)}") from None
