"""Day rollups in Mongo: one small document per (account, day) holding that day's records in
compact form, and one stamp document per account that says which rollup revision of each day
is current and which days have a write in progress. docs/usage-queries.md explains the design.

Revisions come from a per-account ticket counter. A rollup is only ever replaced by one with a
higher revision, so of two writers rebuilding the same day, the later ticket wins whatever the
order their writes arrive in.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, ReplaceOne, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000
READ_BATCH = 16


@dataclass(frozen=True)
class Stamp:
    """What the database says about an account's rollups at one moment."""

    built: bool = False
    revs: dict[str, int] = field(default_factory=dict)  # day -> newest published revision
    pending: dict[str, dt.datetime] = field(default_factory=dict)  # day -> oldest unfinished write

    def pending_in(self, first: str, last: str) -> list[str]:
        return sorted(day for day in self.pending if first <= day <= last)


class RollupStore:
    def __init__(self, db: Database) -> None:
        self.rollups: Collection = db["usage_day_rollups"]
        self.stamps: Collection = db["usage_rollup_stamps"]

    def ensure_indexes(self) -> None:
        self.rollups.create_index([("account_id", ASCENDING), ("date", ASCENDING)])

    # --- writers --------------------------------------------------------------------

    def begin(
        self, account_id: str, days: Iterable[str], now: dt.datetime, token: str = "", *, new: bool = False
    ) -> str:
        """Mark ``days`` as being written; readers compute them from the records until the
        matching ``publish``. Each writer has its own token, so one finishing never hides
        another still at work (a writer passes its token again to renew its marks' time).
        ``new``: the account has no records yet, so a stamp this call creates is built already
        (every record it will ever have goes through the writers' rollups)."""
        token = token or uuid.uuid4().hex
        marks = {f"pending.{day}.{token}": now for day in days}
        if marks:
            update: dict[str, Any] = {"$set": marks}
            if new:
                update["$setOnInsert"] = {"built": True}
            self.stamps.update_one({"_id": account_id}, update, upsert=True)
        return token

    def exists(self, account_id: str) -> bool:
        return self.stamps.find_one({"_id": account_id}, {"_id": 1}) is not None

    def ticket(self, account_id: str) -> int:
        # Of two upserts racing to create the stamp, the embedded database can answer the loser
        # with no document although its $inc applied (db_contract/test_rollups.py::
        # test_ticket_counter_first_upserts_racing); asking again gets a fresh, higher ticket.
        for _ in range(5):
            stamp = self.stamps.find_one_and_update(
                {"_id": account_id},
                {"$inc": {"seq": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                projection={"seq": 1},
            )
            if stamp is not None:
                return int(stamp["seq"])
        raise RuntimeError("the rollup ticket counter returned no document")

    def write(self, account_id: str, rev: int, days: Mapping[str, dict[str, Any]]) -> None:
        """Store each day's columns (daytable.columns_of) under revision ``rev`` unless a newer
        revision is stored."""
        ops = [
            ReplaceOne(
                {"_id": rollup_id(account_id, day), "rev": {"$lt": rev}},
                {
                    "_id": rollup_id(account_id, day),
                    "account_id": account_id,
                    "date": day,
                    "rev": rev,
                    "columns": columns,
                },
                upsert=True,
            )
            for day, columns in days.items()
        ]
        if not ops:
            return
        try:
            self.rollups.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # A duplicate key here means a newer revision is already stored: it stays.
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise

    def publish(
        self,
        account_id: str,
        rev: int,
        days: Iterable[str],
        tokens: Mapping[str, Sequence[str]],
        *,
        built: bool = False,
    ) -> None:
        """Make ``rev`` current for ``days`` and clear the given pending tokens (day -> tokens)."""
        update: dict[str, Any] = {}
        if latest := {f"days.{day}": rev for day in days}:
            update["$max"] = latest
        if unset := {f"pending.{day}.{token}": "" for day, ts in tokens.items() for token in ts}:
            update["$unset"] = unset
        if built:
            update["$set"] = {"built": True}
        if update:
            self.stamps.update_one({"_id": account_id}, update, upsert=True)

    # --- readers --------------------------------------------------------------------

    def stamp(self, account_id: str) -> Stamp | None:
        doc = self.stamps.find_one({"_id": account_id})
        if doc is None:
            return None
        pending: dict[str, dt.datetime] = {}
        for day, tokens in (doc.get("pending") or {}).items():
            if tokens:  # an emptied day is left as {} by $unset
                pending[day] = min(tokens.values())
        revs = {day: int(rev) for day, rev in (doc.get("days") or {}).items()}
        return Stamp(bool(doc.get("built")), revs, pending)

    def pending_tokens(self, account_id: str, day: str) -> list[str]:
        doc = self.stamps.find_one({"_id": account_id}, {f"pending.{day}": 1}) or {}
        return list(((doc.get("pending") or {}).get(day) or {}).keys())

    def read(self, account_id: str, days: Sequence[str]) -> Iterator[dict[str, Any]]:
        """The days' rollups, a few documents at a time (a caller keeps what it builds from them,
        not the documents)."""
        ids = [rollup_id(account_id, day) for day in days]
        yield from self.rollups.find({"_id": {"$in": ids}}).batch_size(READ_BATCH)

    def days_of(self, account_id: str) -> list[str]:
        return [doc["date"] for doc in self.rollups.find({"account_id": account_id}, {"date": 1})]


def rollup_id(account_id: str, day: str) -> str:
    return f"{account_id}:{day}"
