"""Which days a scheduled sync reads: from a little before the last synced day (providers
revise recent days) or the first day that failed last time, whichever is earlier, to today."""

from __future__ import annotations

import datetime as dt
from typing import Any

from usage.limits import DEFAULT_SYNC_DAYS, RESYNC_OVERLAP_DAYS, history_limit


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
