"""The Mongo connection: one client per process, each service in its own database."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.database import Database

from svccommon.config import CommonConfig


def connect(cfg: CommonConfig, timeout_ms: int = 30_000) -> Database:
    client: MongoClient = MongoClient(
        cfg.mongodb_uri,
        appname=f"aicosts-{cfg.service}",
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=timeout_ms,
    )
    return client[cfg.mongodb_database]
