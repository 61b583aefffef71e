"""Keeps the day rollups in step with the records, in the same write path.

Every write of records goes through ``changing``: the days it touches are marked pending first
(readers then compute them from the records), the records are written, and the rollups of those
days are rebuilt from the records and published. A writer that dies in between leaves its days
pending, which costs readers speed, never exactness; a reader repairs a day pending for longer
than any write takes. docs/usage-queries.md has the whole argument.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from svccommon.units import canonical_units

from usage.daytable import FLAG_ESTIMATED, FLAG_PROVISIONAL, Entry, columns_of
from usage.rollupstore import RollupStore

log = logging.getLogger(__name__)


class RecordRows(Protocol):
    """What the rollups read of the records (RecordStore): projected to RECORD_FIELDS, cost_usd a
    Decimal."""

    def rows(self, account_id: str, days: Sequence[str]) -> Iterable[dict[str, Any]]: ...

    def rows_between(self, account_id: str, first: dt.date, last: dt.date) -> Iterable[dict[str, Any]]: ...

    def day_span(self, account_id: str) -> tuple[str, str] | None: ...


REBUILD_BATCH_DAYS = 31
FLUSH_S = 30.0  # a deferred block refreshes what it wrote at least this often
RECORD_FIELDS = (
    "date",
    "platform",
    "model",
    "source",
    "credential_id",
    "project_id",
    "api_key_id",
    "cost_usd",
    "units",
    "provisional",
    "estimated",
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DayRollups:
    def __init__(self, store: RollupStore, records: RecordRows) -> None:
        self.store = store
        self.records = records
        self._deferred = threading.local()  # this thread's open `deferred` block, if any

    @contextlib.contextmanager
    def changing(self, account_id: str, days: Iterable[str]) -> Iterator[None]:
        touched = sorted(set(days))
        batch = getattr(self._deferred, "batch", None)
        if batch is not None and batch.account_id == account_id and set(touched) <= batch.days:
            try:
                yield  # already marked pending by `deferred`; refreshed with the next flush
            finally:
                batch.written.update(touched)  # even a failed write may have changed records
                if len(batch.written) >= REBUILD_BATCH_DAYS or time.monotonic() - batch.flushed > FLUSH_S:
                    self._flush_quietly(batch, final=False)
            return
        if not touched:
            yield
            return
        token = self._begin(account_id, touched)
        try:
            yield
        finally:
            try:
                self.refresh(account_id, touched, {day: [token] for day in touched})
            except Exception:
                # The records are written; the days stay pending and readers sum the records.
                log.warning(
                    "day rollups not refreshed; summaries read these days from records",
                    extra={"days": len(touched)},
                )

    @contextlib.contextmanager
    def deferred(self, account_id: str, days: Iterable[str]) -> Iterator[None]:
        """A sync run's block: its days are marked pending once, and its day writes (in this
        thread) are refreshed together, REBUILD_BATCH_DAYS or FLUSH_S at a time, instead of one
        by one. Readers sum the days not yet refreshed from the records. Each flush renews the
        marks of the days still to come, so a long run never looks like a dead writer."""
        wanted = sorted(set(days))
        batch = _Deferred(account_id, set(wanted), self._begin(account_id, wanted))
        self._deferred.batch = batch
        try:
            yield
        finally:
            self._deferred.batch = None
            self._flush_quietly(batch, final=True)

    def _begin(self, account_id: str, days: Sequence[str]) -> str:
        """The first write of an account with no records yet creates its stamp built: otherwise
        its first summary would rebuild every day from the records, on the read path, while this
        write goes on (the load bench: fifty new users' first overviews at once, 1-15 s each,
        and the shared database slowed every service). Accounts stored before rollups existed
        have records and no stamp: they are still built on their first read."""
        new = not self.store.exists(account_id) and self.records.day_span(account_id) is None
        return self.store.begin(account_id, days, utcnow(), new=new)

    def _flush_quietly(self, batch: _Deferred, final: bool) -> None:
        try:
            written = sorted(batch.written)
            batch.written.clear()
            batch.days -= set(written)
            for at in range(0, len(written), REBUILD_BATCH_DAYS):
                chunk = written[at : at + REBUILD_BATCH_DAYS]
                self.refresh(batch.account_id, chunk, {day: [batch.token] for day in chunk})
            if final:
                self.store.publish(batch.account_id, 0, [], {day: [batch.token] for day in batch.days})
            else:
                self.store.begin(batch.account_id, sorted(batch.days), utcnow(), token=batch.token)
            batch.flushed = time.monotonic()
        except Exception:
            # Unrefreshed days keep their marks: readers sum them from the records until repaired.
            log.warning("day rollups not refreshed; summaries read these days from records")

    def refresh(self, account_id: str, days: Sequence[str], tokens: dict[str, list[str]]) -> None:
        # The ticket comes after the records were written and before they are read back, so the
        # highest revision of a day always saw every write that finished before it.
        rev = self.store.ticket(account_id)
        by_day: dict[str, list[Entry]] = {day: [] for day in days}
        for doc in self.records.rows(account_id, days):
            by_day[doc["date"]].append(record_entry(doc))
        self.store.write(account_id, rev, {day: columns_of(rows) for day, rows in by_day.items()})
        self.store.publish(account_id, rev, days, tokens)

    def repair(self, account_id: str, day: str) -> None:
        """Rebuild a day whose writer never finished, and clear its stale marks."""
        self.refresh(account_id, [day], {day: self.store.pending_tokens(account_id, day)})

    def rebuild_account(self, account_id: str) -> int:
        """Rebuild every day of an account from its records (accounts stored before rollups
        existed, or an operator's `python -m usage.admin rebuild`). The records are read one
        range of REBUILD_BATCH_DAYS at a time, so memory holds one batch, not the account.
        Returns the number of days."""
        rev = self.store.ticket(account_id)
        stale = set(self.store.days_of(account_id))  # days whose records may all be gone
        done: list[str] = []
        span = self.records.day_span(account_id)
        if span is not None:
            start, last = dt.date.fromisoformat(span[0]), dt.date.fromisoformat(span[1])
            while start <= last:
                end = min(start + dt.timedelta(days=REBUILD_BATCH_DAYS - 1), last)
                batch: dict[str, list[Entry]] = {}
                for doc in self.records.rows_between(account_id, start, end):
                    batch.setdefault(doc["date"], []).append(record_entry(doc))
                self._write_batch(account_id, rev, batch, done)
                start = end + dt.timedelta(days=1)
        self._write_batch(account_id, rev, {day: [] for day in stale - set(done)}, done)
        self.store.publish(account_id, rev, done, {}, built=True)
        return len(done)

    def _write_batch(self, account_id: str, rev: int, batch: dict[str, list[Entry]], done: list[str]) -> None:
        self.store.write(account_id, rev, {day: columns_of(rows) for day, rows in batch.items()})
        done.extend(batch)
        batch.clear()


@dataclass
class _Deferred:
    account_id: str
    days: set[str]  # marked pending and not written yet
    token: str
    written: set[str] = field(default_factory=set)  # written since the last flush
    flushed: float = field(default_factory=time.monotonic)


def record_entry(record: dict[str, Any]) -> Entry:
    """A record document (RECORD_FIELDS) as one entry of its day."""
    flags = (FLAG_PROVISIONAL if record.get("provisional") else 0) | (
        FLAG_ESTIMATED if record.get("estimated") else 0
    )
    usd = record["cost_usd"]
    series = (
        record["platform"],
        record["model"],
        record["source"],
        record.get("credential_id") or "",
        record.get("project_id") or "",
        record.get("api_key_id") or "",
    )
    # Records stored before svccommon.units carry legacy unit names: translated on read.
    units = canonical_units(record["platform"], record.get("units") or {})
    return Entry(series, usd, units, flags)  # a Decimal: RecordRows convert stored Decimal128
