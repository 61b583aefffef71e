"""The usage service's in-memory copy of day rollups, per account, checked on every read.

Every summary first reads the account's stamp (one small document): a day whose published
revision differs from the cached one is reloaded, a day with a write in progress is computed
from its records, everything else is served from memory. So any replica answers with what the
database holds, and a write acknowledged through one replica is seen by the next read through
another. Accounts are evicted least recently used beyond a total number of entries.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from usage.daytable import DayTable, SeriesTable
from usage.rollups import DayRollups, RecordRows, record_entry, utcnow
from usage.rollupstore import RollupStore, Stamp

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 3_000_000
# A pending mark older than this belongs to a writer that died: the next reader repairs the day.
STALE_PENDING = dt.timedelta(minutes=10)


@dataclass
class AccountView:
    table: SeriesTable = field(default_factory=SeriesTable)
    days: dict[str, DayTable] = field(default_factory=dict)
    entries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Snapshot:
    """The days of one range as the database held them when the read began."""

    table: SeriesTable
    days: list[DayTable]


class SummaryCache:
    def __init__(
        self,
        store: RollupStore,
        rollups: DayRollups,
        records: RecordRows,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.store = store
        self.rollups = rollups
        self.records = records
        self.max_entries = max_entries
        self._views: OrderedDict[str, AccountView] = OrderedDict()
        self._lock = threading.Lock()

    def snapshot(self, account_id: str, first: dt.date, last: dt.date) -> Snapshot:
        view = self._view(account_id)
        with view.lock:
            days = self._fresh_days(account_id, view, first.isoformat(), last.isoformat())
            table = view.table
        self._evict()
        return Snapshot(table, days)

    def _fresh_days(self, account_id: str, view: AccountView, first: str, last: str) -> list[DayTable]:
        stamp = self._stamp(account_id, view)
        pending = stamp.pending_in(first, last)
        stale = [day for day in pending if utcnow() - stamp.pending[day] > STALE_PENDING]
        for day in stale:
            log.warning("repairing a day rollup its writer left unfinished", extra={"day": day})
            self.rollups.repair(account_id, day)
        if stale:
            stamp = self._stamp(account_id, view)
            pending = stamp.pending_in(first, last)
        wanted = sorted(day for day in stamp.revs if first <= day <= last and day not in pending)
        load = [day for day in wanted if day not in view.days or view.days[day].rev < stamp.revs[day]]
        if load:
            for doc in self.store.read(account_id, load):
                old = view.days.get(doc["date"])
                table = DayTable.from_columns(doc["date"], int(doc["rev"]), doc["columns"], view.table)
                view.days[doc["date"]] = table
                view.entries += len(table) - (len(old) if old else 0)
        days = [view.days[day] for day in wanted if day in view.days]
        if pending:
            days.extend(self._from_records(account_id, pending, view.table))
        return sorted(days, key=lambda d: d.date)

    def _stamp(self, account_id: str, view: AccountView) -> Stamp:
        stamp = self.store.stamp(account_id)
        if stamp is None or not stamp.built:
            log.info("building day rollups of an account from its records")
            self.rollups.rebuild_account(account_id)
            view.days.clear()
            view.entries = 0
            stamp = self.store.stamp(account_id) or Stamp(built=True)
        return stamp

    def _from_records(self, account_id: str, days: Sequence[str], table: SeriesTable) -> list[DayTable]:
        """Days with a write in progress: summed from the records, never cached."""
        entries: dict[str, list] = {day: [] for day in days}
        for doc in self.records.rows(account_id, days):
            entries[doc["date"]].append(record_entry(doc))
        return [DayTable.build(day, -1, rows, table) for day, rows in entries.items() if rows]

    def _view(self, account_id: str) -> AccountView:
        with self._lock:
            view = self._views.get(account_id)
            if view is None:
                view = self._views[account_id] = AccountView()
            self._views.move_to_end(account_id)
            return view

    def _evict(self) -> None:
        with self._lock:
            total = sum(v.entries for v in self._views.values())
            while total > self.max_entries and len(self._views) > 1:
                _, oldest = self._views.popitem(last=False)
                total -= oldest.entries
