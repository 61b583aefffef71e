"""`throttles`: attempt counters that are reserved *before* the work they guard, each by one atomic
update that checks and increments in the same step, so concurrent requests cannot all slip past a
check that runs before the failures of the others are recorded.

Counts live in fixed windows: one document per key and window start, `{_id: key@start, n, gate,
expires_at}`, removed by the TTL monitor when the window ends.
- progressive (`take`): `n` counts attempts in the window. The first `free - 1` pass at once;
  from then on an attempt passes only when `gate` is in the past, and closes the gate for HOLD_S
  while it runs (so one at a time). After a failure the caller sets the gate to the delay it
  wants (`close`).
- plain (`take_window`): at most `limit` per window (uses may be taken several at once).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
HOLD_S = 30  # longer than any call's deadline; a crashed attempt keeps its gate closed this long


@dataclass(frozen=True)
class Taken:
    """A reserved attempt. `gated`: it passed through the gate (it is the only one running)."""

    key: str
    n: int
    gated: bool


class ThrottleStore:
    def __init__(self, db: Database) -> None:
        self.col: Collection = db["throttles"]

    def ensure_indexes(self) -> None:
        self.col.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")

    # --- progressive ----------------------------------------------------------------------

    def take(self, key: str, free: int, now: dt.datetime, window_s: int) -> Taken | dt.datetime:
        """Reserve one attempt, or return when one may be tried again. `free` >= 2."""
        doc_id, ends = _window(key, now, window_s)
        open_slot = {"_id": doc_id, "n": {"$lt": free - 1}}
        try:
            self.col.update_one(
                open_slot,
                {"$inc": {"n": 1}, "$setOnInsert": {"gate": EPOCH, "expires_at": ends}},
                upsert=True,
            )
            return Taken(doc_id, 0, gated=False)
        except DuplicateKeyError:
            pass  # past its free attempts, or created by a concurrent request just now
        if self.col.update_one(open_slot, {"$inc": {"n": 1}}).matched_count:
            return Taken(doc_id, 0, gated=False)
        doc = self.col.find_one_and_update(
            {"_id": doc_id, "n": {"$gte": free - 1}, "gate": {"$lte": now}},
            {"$inc": {"n": 1}, "$set": {"gate": now + dt.timedelta(seconds=HOLD_S)}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return Taken(doc_id, doc["n"], gated=True)
        current = self.col.find_one({"_id": doc_id}, {"gate": 1})
        gate = current["gate"] if current else now
        return min(gate, ends)  # a new window starts with a fresh count

    def close(self, taken: Taken, until: dt.datetime) -> None:
        """A gated attempt failed: no other attempt passes before `until`."""
        self.col.update_one({"_id": taken.key}, {"$set": {"gate": until}})

    def release(self, taken: Taken, now: dt.datetime) -> None:
        """Give the attempt back (it did not fail): it no longer counts, and the gate reopens."""
        update: Doc = {"$inc": {"n": -1}}
        if taken.gated:
            update["$set"] = {"gate": now}
        self.col.update_one({"_id": taken.key, "n": {"$gt": 0}}, update)

    def forgive(self, doc_id: str) -> None:
        """Start a reserved attempt's window over (`doc_id` is Taken.key)."""
        self.col.delete_one({"_id": doc_id})

    def forgive_window(self, key: str, now: dt.datetime, window_s: int) -> None:
        """Start the key's current window over."""
        self.forgive(_window(key, now, window_s)[0])

    # --- windowed -------------------------------------------------------------------------

    def take_window(
        self, key: str, limit: int, now: dt.datetime, window_s: int, count: int = 1
    ) -> dt.datetime | None:
        """Count `count` uses in the current window, all or none; None if allowed, else when the
        window ends."""
        doc_id, ends = _window(key, now, window_s)
        if count > limit:
            return ends
        slot = {"_id": doc_id, "n": {"$lte": limit - count}}
        try:
            self.col.update_one(
                slot, {"$inc": {"n": count}, "$setOnInsert": {"expires_at": ends}}, upsert=True
            )
            return None
        except DuplicateKeyError:
            pass  # full, or created by a concurrent request just now
        return None if self.col.update_one(slot, {"$inc": {"n": count}}).matched_count else ends

    def give_back_window(self, key: str, count: int, now: dt.datetime, window_s: int) -> None:
        """Uncount `count` uses taken in the current window that did not happen after all."""
        doc_id, _ = _window(key, now, window_s)
        self.col.update_one({"_id": doc_id, "n": {"$gte": count}}, {"$inc": {"n": -count}})


def _window(key: str, now: dt.datetime, window_s: int) -> tuple[str, dt.datetime]:
    """The document id of `key` in the fixed window holding `now`, and when that window ends."""
    start = int(now.timestamp()) // window_s * window_s
    return f"{key}@{start}", dt.datetime.fromtimestamp(start + window_s, dt.UTC)
