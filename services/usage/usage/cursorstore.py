"""`reconciler_cursors`: how far usage's reconciler has followed each owner's change feed
(usage.reconciler), one document per feed. Replicas share it; a replica that saves an older
position than another's only makes the next pass re-read a little (every step is idempotent)."""

from __future__ import annotations

from pymongo.collection import Collection
from pymongo.database import Database

from usage.changes import Position


class CursorStore:
    def __init__(self, db: Database, clock) -> None:  # noqa: ANN001 (a () -> datetime)
        self.cursors: Collection = db["reconciler_cursors"]
        self.clock = clock

    def ensure_indexes(self) -> None:
        pass  # keyed by _id (the feed's name)

    def load(self, name: str) -> Position | None:
        doc = self.cursors.find_one({"_id": name})
        return (doc["changed_at"], doc["id"]) if doc else None

    def save(self, name: str, position: Position) -> None:
        changed_at, last_id = position
        self.cursors.update_one(
            {"_id": name},
            {"$set": {"changed_at": changed_at, "id": last_id, "saved_at": self.clock()}},
            upsert=True,
        )
