"""Fixtures of the database contract: a client of the session database, which server it is, and a
fresh database per test (dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pymongo import MongoClient
from pymongo.database import Database


@pytest.fixture(scope="module")
def client(mongo_uri: str) -> Iterator[MongoClient]:
    c: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def secantus(client: MongoClient) -> str | None:
    """The SecantusDB version when the server is the embedded database, else None. Its buildInfo
    reports a MongoDB version (8.2.x) like mongod does, but adds a `secantusVersion` field that
    no mongod has (and an all-zero gitVersion)."""
    return client.server_info().get("secantusVersion")


@pytest.fixture()
def db(client: MongoClient) -> Iterator[Database]:
    database = client[f"contract_{uuid.uuid4().hex[:16]}"]
    try:
        yield database
    finally:
        client.drop_database(database.name)
