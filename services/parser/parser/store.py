"""The parser's database: upload metadata with the parsed records (money as Decimal128), and the
AI-call log behind the daily per-account cap. The only pymongo code of the service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database

from parser.records import LineItem, Record


def stored_money(value: Decimal) -> Decimal128:
    return Decimal128(value)


def record_doc(record: Record) -> dict[str, Any]:
    return {
        "platform": record.platform,
        "date": record.date.isoformat(),
        "model": record.model,
        "cost_usd": stored_money(record.cost_usd),
        "units": dict(record.units),
        "line_items": [
            {
                "name": item.name,
                "quantity": None if item.quantity is None else stored_money(item.quantity),
                "unit": item.unit,
                "cost_usd": stored_money(item.cost_usd),
            }
            for item in record.line_items
        ],
        "estimated": record.estimated,
    }


def record_from_doc(doc: dict[str, Any]) -> Record:
    return Record(
        platform=doc["platform"],
        date=dt.date.fromisoformat(doc["date"]),
        model=doc["model"],
        cost_usd=doc["cost_usd"].to_decimal(),
        units={k: int(v) for k, v in doc.get("units", {}).items()},
        line_items=[
            LineItem(
                name=i["name"],
                quantity=None if i.get("quantity") is None else i["quantity"].to_decimal(),
                unit=i.get("unit", ""),
                cost_usd=i["cost_usd"].to_decimal(),
            )
            for i in doc.get("line_items", [])
        ],
        estimated=bool(doc.get("estimated", False)),
    )


class UploadStore:
    def __init__(self, db: Database) -> None:
        self.uploads = db["uploads"]
        self.ai_calls = db["ai_calls"]

    def ensure_indexes(self) -> None:
        self.uploads.create_index(
            [("account_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        self.uploads.create_index([("account_id", ASCENDING), ("sha256", ASCENDING)])
        self.uploads.create_index([("status", ASCENDING), ("import_started_at", ASCENDING)])
        self.ai_calls.create_index([("account_id", ASCENDING), ("at", ASCENDING)])

    # uploads
    def insert(self, doc: dict[str, Any]) -> None:
        self.uploads.insert_one(doc)

    def get(self, account_id: str, upload_id: str) -> dict[str, Any] | None:
        return self.uploads.find_one({"_id": upload_id, "account_id": account_id})

    def find_same_content(self, account_id: str, sha256: str) -> str | None:
        doc = self.uploads.find_one({"account_id": account_id, "sha256": sha256}, {"_id": 1})
        return str(doc["_id"]) if doc else None

    def count(self, account_id: str) -> int:
        return self.uploads.count_documents({"account_id": account_id})

    def page(
        self, account_id: str, limit: int, after: tuple[dt.datetime, str] | None
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"account_id": account_id}
        if after is not None:
            at, upload_id = after
            query["$or"] = [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": upload_id}}]
        cursor = self.uploads.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return list(cursor)

    def update(self, account_id: str, upload_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        return self.uploads.find_one_and_update(
            {"_id": upload_id, "account_id": account_id},
            {"$set": fields},
            return_document=ReturnDocument.AFTER,
        )

    def interrupted_imports(self, started_before: dt.datetime) -> list[tuple[str, str]]:
        """(account_id, upload_id) of uploads whose import started before then and never finished."""
        docs = self.uploads.find(
            {"status": "parsed", "import_started_at": {"$ne": None, "$lt": started_before}},
            {"account_id": 1},
        ).limit(100)
        return [(d["account_id"], d["_id"]) for d in docs]

    def delete(self, account_id: str, upload_id: str) -> bool:
        return self.uploads.delete_one({"_id": upload_id, "account_id": account_id}).deleted_count == 1

    # AI calls (OWASP LLM10: cap cost per account)
    def ai_calls_since(self, account_id: str, since: dt.datetime) -> int:
        return self.ai_calls.count_documents({"account_id": account_id, "at": {"$gte": since}})

    def record_ai_call(self, account_id: str, now: dt.datetime) -> None:
        self.ai_calls.insert_one({"account_id": account_id, "at": now})
        self.ai_calls.delete_many({"account_id": account_id, "at": {"$lt": now - dt.timedelta(days=2)}})
