"""The Mongo connection: one client per process, each service in its own database."""

from __future__ import annotations

from collections.abc import Callable

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import AutoReconnect, ExecutionTimeout, PyMongoError, WTimeoutError

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


def ping_probe(cfg: CommonConfig, timeout_ms: int = 1500) -> Callable[[], bool]:
    """A readiness probe: does the database answer a ping within `timeout_ms`? A client of its own,
    so a probe never waits the service client's 30 s server selection."""
    client: MongoClient = MongoClient(
        cfg.mongodb_uri,
        appname=f"aicosts-{cfg.service}-probe",
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms,
    )

    def probe() -> bool:
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False

    return probe
