"""Every range and size limit of syncs and queries, in one place (plans will tune them here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from svccommon.errors import InvalidArgument

DEFAULT_SYNC_DAYS = 30  # an on-demand sync without a range
BACKFILL_DAYS = 90  # a new credential's first sync
MAX_SYNC_DAYS = 365  # how far back any sync may reach, counting today
DEFAULT_QUERY_DAYS = 30  # summary/records/export without a range
MAX_QUERY_DAYS = 3 * 366  # one query's span
DEFAULT_PAGE = 100
MAX_PAGE = 500
DEFAULT_RUNS_PAGE = 50
MAX_IMPORT_RECORDS = 20_000  # rows per ImportRecords call (the gRPC message limit binds first)
# Scheduled syncs re-read this many days before the last synced day (providers revise them).
RESYNC_OVERLAP_DAYS = 3

SYNC_REASONS = ("manual", "backfill", "scheduled")
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(9998, 12, 31)


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def parse_day(value: str, name: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(f"{name} must be a day as YYYY-MM-DD, got {value[:40]!r}") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:  # the day arithmetic of ranges must stay valid
        raise InvalidArgument(f"{name} must be a day from {EARLIEST_DAY} to {LATEST_DAY}")
    return day


def history_limit(history_days: int) -> int:
    """How far back a sync may reach: the plan's history (0: not given), never beyond MAX_SYNC_DAYS."""
    return min(history_days, MAX_SYNC_DAYS) if history_days > 0 else MAX_SYNC_DAYS


def sync_range(from_value: str, to_value: str, reason: str, today: date, history_days: int = 0) -> DayRange:
    """The days a sync covers: defaults per reason, never in the future, at most the plan's
    history (MAX_SYNC_DAYS without one) back. A backfill covers the plan's whole history."""
    allowed = history_limit(history_days)
    if reason == "backfill":
        span = allowed if history_days > 0 else BACKFILL_DAYS
    else:
        span = min(DEFAULT_SYNC_DAYS, allowed)
    last = parse_day(to_value, "to") if to_value else today
    first = parse_day(from_value, "from") if from_value else last - timedelta(days=span - 1)
    earliest = today - timedelta(days=allowed - 1)
    if first > last:
        raise InvalidArgument("from must not be after to")
    if first > today:
        raise InvalidArgument(f"from must not be in the future (today is {today.isoformat()} UTC)")
    absolute = today - timedelta(days=MAX_SYNC_DAYS - 1)
    if first < absolute:
        raise InvalidArgument(
            f"a sync reaches back at most {MAX_SYNC_DAYS} days: from must be {absolute.isoformat()} or later"
        )
    if first < earliest:
        raise InvalidArgument(
            f"this account's plan reaches back at most {allowed} days: "
            f"from must be {earliest.isoformat()} or later"
        )
    return DayRange(first, min(last, today))


def query_range(from_value: str, to_value: str, today: date) -> DayRange:
    last = parse_day(to_value, "to") if to_value else today
    first = parse_day(from_value, "from") if from_value else last - timedelta(days=DEFAULT_QUERY_DAYS - 1)
    if first > last:
        raise InvalidArgument("from must not be after to")
    if (last - first).days + 1 > MAX_QUERY_DAYS:
        raise InvalidArgument(f"a query covers at most {MAX_QUERY_DAYS} days")
    return DayRange(first, last)


def page_size(value: int, default: int = DEFAULT_PAGE) -> int:
    if value == 0:
        return default
    if not 1 <= value <= MAX_PAGE:
        raise InvalidArgument(f"limit must be between 1 and {MAX_PAGE}")
    return value
