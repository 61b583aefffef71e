"""In-process harness for the usage service's domain: real stores on the test database, real
connectors against the fake provider servers, keyvault replaced by an in-memory stand-in
(the end-to-end tests use the real keyvault)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pymongo.database import Database
from testkit.fakes import ProviderFakes, SleepRecorder
from usage.clients.keyvault_credentials import CredentialGone, CredentialInfo
from usage.connectors import Connector, HttpClient, connector_for
from usage.imports import RecordImporter
from usage.queries import UsageQueries
from usage.recordstore import RecordStore
from usage.runstore import RunStore
from usage.syncjob import SyncJob
from usage.syncs import SyncController

NOW = dt.datetime(2026, 9, 30, 12, 0, tzinfo=dt.UTC)
ACCOUNT = "acct0000000000000000000000000001"


class Clock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class MemoryCredentials:
    """Keyvault's four calls the usage service makes, in memory."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], tuple[str, str]] = {}
        self.status: dict[tuple[str, str], tuple[str, str]] = {}
        self.synced_at: dict[tuple[str, str], dt.datetime] = {}

    def add(self, account_id: str, credential_id: str, platform: str, api_key: str) -> None:
        self.keys[(account_id, credential_id)] = (platform, api_key)
        self.status[(account_id, credential_id)] = ("active", "")

    def get(self, account_id: str, credential_id: str) -> CredentialInfo:
        platform, _ = self.reveal(account_id, credential_id)
        return CredentialInfo(credential_id, platform, self.status[(account_id, credential_id)][0])

    def reveal(self, account_id: str, credential_id: str) -> tuple[str, str]:
        try:
            return self.keys[(account_id, credential_id)]
        except KeyError:
            raise CredentialGone() from None

    def mark_invalid(self, account_id: str, credential_id: str, message: str) -> None:
        self.status[(account_id, credential_id)] = ("invalid", message)

    def mark_synced(self, account_id: str, credential_id: str, at: dt.datetime, message: str = "") -> None:
        self.status[(account_id, credential_id)] = ("active", message)
        self.synced_at[(account_id, credential_id)] = at

    def note(self, account_id: str, credential_id: str, message: str) -> None:
        if self.status[(account_id, credential_id)][0] == "active":
            self.status[(account_id, credential_id)] = ("active", message)


@dataclass
class Harness:
    db: Database
    fakes: ProviderFakes
    clock: Clock
    credentials: MemoryCredentials
    runs: RunStore
    records: RecordStore
    syncs: SyncController
    queries: UsageQueries
    importer: RecordImporter
    owner: str = "test-worker"
    account: str = ACCOUNT

    def day(self, days_ago: int) -> dt.date:
        return self.clock().date() - dt.timedelta(days=days_ago)

    def connector(self, platform: str) -> Connector:
        http = HttpClient(max_attempts=2, sleep=SleepRecorder(), timeout=(2.0, 5.0))
        url = self.fakes.by_platform[platform].url
        return connector_for(platform, http=http, base_url=url, clock=self.clock)

    def job(self, stopping=lambda: False, owner: str = "") -> SyncJob:  # noqa: ANN001
        owner = owner or self.owner
        return SyncJob(self.runs, self.records, self.credentials, self.connector, owner, self.clock, stopping)

    def connect(self, platform: str, credential_id: str, account_id: str = ACCOUNT):  # noqa: ANN201
        """A fresh tenant on the platform's fake, registered as this credential's key."""
        tenant = self.fakes.by_platform[platform].tenant()
        if hasattr(tenant, "clock"):
            tenant.clock = self.clock  # a fake whose answers depend on today uses the test's clock
        self.credentials.add(account_id, credential_id, platform, tenant.api_key)
        return tenant

    def sync(self, credential_id: str, frm: str = "", to: str = "", account_id: str = ACCOUNT) -> dict:
        """StartSync, then run the queued run in this thread; returns the finished run."""
        run = self.syncs.start(account_id, credential_id, frm, to, "manual")
        claimed = self.runs.claim(self.owner, self.clock())
        assert claimed is not None and claimed["_id"] == run["_id"]
        self.job().execute(claimed)
        return self.runs.get(account_id, run["_id"])


@pytest.fixture(scope="session")
def fakes() -> Iterator[ProviderFakes]:
    with ProviderFakes() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def harness(db: Database, fakes: ProviderFakes, clock: Clock) -> Harness:
    records, runs = RecordStore(db), RunStore(db)
    records.ensure_indexes()
    runs.ensure_indexes()
    credentials = MemoryCredentials()
    return Harness(
        db=db,
        fakes=fakes,
        clock=clock,
        credentials=credentials,
        runs=runs,
        records=records,
        syncs=SyncController(runs, records, credentials, clock, 21600),
        queries=UsageQueries(records, clock),
        importer=RecordImporter(records, clock),
    )
