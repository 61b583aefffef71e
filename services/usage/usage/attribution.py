"""The provider's names for its own attribution ids (projects / workspaces, API keys), per
account, refreshed by every sync of a credential. Ids are what records carry, so a renamed
project keeps its history; summaries show the newest name seen for an id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database

KINDS = ("project", "api_key")
MAX_NAME = 200


class AttributionNames:
    def __init__(self, db: Database) -> None:
        self.names = db["usage_attribution_names"]

    def ensure_indexes(self) -> None:
        self.names.create_index([("account_id", ASCENDING), ("kind", ASCENDING), ("id", ASCENDING)])

    def save(
        self,
        account_id: str,
        credential_id: str,
        platform: str,
        names: Mapping[str, Mapping[str, str]],
        now: dt.datetime,
    ) -> int:
        """Store ``{kind: {id: name}}`` as the provider named them at ``now`` (upserts by id)."""
        ops = []
        for kind, by_id in names.items():
            if kind not in KINDS:
                continue
            for item_id, name in by_id.items():
                if not item_id:
                    continue
                key = f"{account_id}:{platform}:{kind}:{item_id}"
                doc = {
                    "account_id": account_id,
                    "credential_id": credential_id,
                    "platform": platform,
                    "kind": kind,
                    "id": item_id,
                    "name": (name or "")[:MAX_NAME],
                    "seen_at": now,
                }
                ops.append(UpdateOne({"_id": key}, {"$set": doc}, upsert=True))
        if ops:
            self.names.bulk_write(ops, ordered=False)
        return len(ops)

    def lookup(self, account_id: str, kind: str, ids: Iterable[str]) -> dict[str, str]:
        """id -> the newest name seen for it (ids without a stored name are left out)."""
        wanted = sorted({i for i in ids if i})
        if not wanted:
            return {}
        out: dict[str, tuple[dt.datetime, str]] = {}
        query = {"account_id": account_id, "kind": kind, "id": {"$in": wanted}}
        docs: Any = self.names.find(query, {"id": 1, "name": 1, "seen_at": 1})
        for doc in docs:
            seen = doc.get("seen_at") or dt.datetime.min
            if doc["id"] not in out or seen > out[doc["id"]][0]:
                out[doc["id"]] = (seen, doc.get("name") or "")
        return {i: name for i, (_, name) in out.items()}

    def forget(self, account_id: str, credential_id: str) -> None:
        self.names.delete_many({"account_id": account_id, "credential_id": credential_id})
