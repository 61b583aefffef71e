"""The Mongo connection: one client per process, each service in its own database."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import AutoReconnect, ExecutionTimeout, WTimeoutError

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


def answered_late(exc: BaseException) -> bool:
    """The database did not answer in time, or the connection dropped mid-call (a failover, a
    restart, a server too busy to be selected): the operation may or may not have landed, so only
    an idempotent step may ask again. Any other error (a duplicate key, a bad query) is an answer."""
    return isinstance(exc, (AutoReconnect, ExecutionTimeout, WTimeoutError))
