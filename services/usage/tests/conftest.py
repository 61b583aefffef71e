"""Usage service tests: one embedded database per session, a fresh database name per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from testkit.mongo import mongo_server


@pytest.fixture(scope="session")
def usage_mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session database's address (tests that put a proxy in front of it need it)."""
    with mongo_server(tmp_path_factory.mktemp("usage-db")) as uri:
        yield uri


@pytest.fixture(scope="session")
def usage_mongo(usage_mongo_uri: str) -> Iterator[MongoClient]:
    client: MongoClient = MongoClient(usage_mongo_uri, tz_aware=True, uuidRepresentation="standard")
    yield client
    client.close()


@pytest.fixture
def db(usage_mongo: MongoClient) -> Iterator[Database]:
    name = f"usage_test_{uuid.uuid4().hex[:12]}"
    yield usage_mongo[name]
    usage_mongo.drop_database(name)
