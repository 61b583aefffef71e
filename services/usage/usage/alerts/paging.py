"""One page of alerts or deliveries, newest first, with the cursor the usage API uses everywhere
(usage.queries: the key the page ended at, here the fired-at time and the id)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import DESCENDING
from pymongo.collection import Collection
from svccommon.errors import InvalidArgument

from usage.queries import decode_cursor, encode_cursor


def newest_first(
    collection: Collection, query: dict[str, Any], limit: int, cursor: str
) -> tuple[list[dict], str]:
    if cursor:
        at_text, last = decode_cursor(cursor, size=2)
        try:
            at = dt.datetime.fromisoformat(at_text)
        except ValueError:
            raise InvalidArgument("cursor is not valid; start again without it") from None
        query = {**query, "$or": [{"fired_at": {"$lt": at}}, {"fired_at": at, "_id": {"$lt": last}}]}
    order = [("fired_at", DESCENDING), ("_id", DESCENDING)]
    docs = list(collection.find(query).sort(order).limit(limit + 1))
    if len(docs) <= limit:
        return docs, ""
    end = docs[limit - 1]
    return docs[:limit], encode_cursor([end["fired_at"].isoformat(), end["_id"]])
