"""The Mongo connection: one client per process, each service in its own database."""

from __future__ import annotations

from collections.abc import Callable

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

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
