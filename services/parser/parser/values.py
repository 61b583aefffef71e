"""Cell values to exact types: money as Decimal (never float), counts as int, days as UTC dates.
Every failure names the row and column so the user can fix the file."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from parser.problems import row_problem

EARLIEST_DAY = date(2015, 1, 1)  # no AI billing before this; older dates are typos
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_MONEY_DECORATION = re.compile(r"^\s*(?:US\$|USD|\$)?\s*(?P<n>.*?)\s*(?:USD)?\s*$", re.IGNORECASE)
_UNIX_SECONDS = re.compile(r"^\d{9,10}(\.0+)?$")
_SHOW = 40


def show(text: str) -> str:
    """A cell as quoted in an error message: printable and short."""
    cleaned = "".join(c if c.isprintable() else "?" for c in text)
    return repr(cleaned if len(cleaned) <= _SHOW else cleaned[:_SHOW] + "...")


def is_blank(text: str | None) -> bool:
    return text is None or not text.strip() or text.strip() == "--"


def parse_decimal(text: str, column: str, row: int, *, allow_grouping: bool = False) -> Decimal:
    raw = text.strip()
    if allow_grouping and _GROUPED_NUMBER.match(raw):
        raw = raw.replace(",", "")
    if not _PLAIN_NUMBER.match(raw):
        raise row_problem(row, f"{column} is not a number: {show(text)}")
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise row_problem(row, f"{column} is not a number: {show(text)}") from None
    if not value.is_finite():
        raise row_problem(row, f"{column} is not a finite number: {show(text)}")
    return value


def parse_money(text: str, column: str, row: int, *, decorated: bool = False) -> Decimal:
    """A non-negative USD amount. decorated: also accept '$1,234.50' and '1234.50 USD'."""
    raw = text
    if decorated:
        match = _MONEY_DECORATION.match(text)
        raw = match.group("n") if match else text
        if raw.startswith("(") and raw.endswith(")"):
            raise row_problem(
                row, f"{column} is negative ({show(text)}); credits and refunds are not imported"
            )
    value = parse_decimal(raw, column, row, allow_grouping=decorated)
    if value < 0:
        raise row_problem(row, f"{column} is negative ({show(text)}); credits and refunds are not imported")
    return value + Decimal(0)  # normalizes -0 to 0


def parse_count(text: str, column: str, row: int, *, allow_grouping: bool = False) -> int:
    value = parse_decimal(text, column, row, allow_grouping=allow_grouping)
    if value < 0:
        raise row_problem(row, f"{column} is negative: {show(text)}")
    if value != value.to_integral_value():
        raise row_problem(row, f"{column} is not a whole number: {show(text)}")
    return int(value)


def check_day(day: date, column: str, row: int, today: date | None = None) -> date:
    latest = today or datetime.now(UTC).date()  # usage refuses days in the future
    if not EARLIEST_DAY <= day <= latest:
        raise row_problem(row, f"{column} is out of range: {day.isoformat()}")
    return day


def parse_iso_day(text: str, column: str, row: int) -> date:
    """'2025-01-31', '2025-01-31T00:00:00Z', '2025-01-31 00:00:00+00:00' or Unix seconds → UTC day."""
    raw = text.strip()
    day: date | None = None
    if _UNIX_SECONDS.match(raw):
        day = datetime.fromtimestamp(int(Decimal(raw)), UTC).date()
    elif len(raw) == 10:
        day = _try(lambda: date.fromisoformat(raw))
    elif len(raw) > 10:
        moment = _try(lambda: datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00")))
        if moment is not None:
            day = (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    if day is None:
        raise row_problem(row, f"{column} is not a date: {show(text)}")
    return check_day(day, column, row)


def _try(make):
    try:
        return make()
    except ValueError:
        return None
