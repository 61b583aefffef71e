"""When and what a scheduled sync reads.

- Which days: from a little before the last synced day (providers revise recent days) or the first
  day that failed last time, whichever is earlier, to today.
- When, after a sync with failed days (a provider outage, a rate limit): sooner than the interval,
  after a delay that doubles with each failure in a row (15 min, 30, 1 h, ... by default), so the
  missed days arrive soon after the provider is back without calling a failing provider every
  few minutes. The regular interval is never exceeded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from usage.limits import DEFAULT_SYNC_DAYS, RESYNC_OVERLAP_DAYS, history_limit

MAX_DOUBLINGS = 10  # 15 min x 2**10 is a week: beyond any interval


def retry_delay(failures_in_a_row: int, first: dt.timedelta) -> dt.timedelta:
    """The wait before the next sync of a key whose last `failures_in_a_row` syncs failed."""
    return first * 2 ** min(max(failures_in_a_row, 1) - 1, MAX_DOUBLINGS)


def scheduled_range(target: dict[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
    overlap = dt.timedelta(days=RESYNC_OVERLAP_DAYS - 1)
    synced_until = target.get("synced_until")
    if synced_until:
        first = min(dt.date.fromisoformat(synced_until), today) - overlap
    else:  # never synced (the first sync failed): the default window
        first = today - dt.timedelta(days=DEFAULT_SYNC_DAYS - 1)
    retry_from = target.get("retry_from")
    if retry_from:
        first = min(first, dt.date.fromisoformat(retry_from))
    # The account's plan may allow less history than any sync may reach (usage.accountplans).
    earliest = today - dt.timedelta(days=history_limit(target.get("history_days") or 0) - 1)
    return max(first, earliest), today
