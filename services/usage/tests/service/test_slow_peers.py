"""A slow answer inside a sync: keyvault or the database answering after the caller's deadline
is asked again within the run (usage.stepretry), so one slow answer never fails a backfill.

The peers are real: a keyvault-like gRPC server that holds its first answers (testkit.slow_keyvault)
reached by usage's own keyvault client, and a TCP proxy in front of the test database that holds
the replies to chosen commands (testkit.slow_mongo) while the commands themselves land."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import grpc
import pytest
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from pymongo import MongoClient
from svccommon.channels import Backend
from testkit.slow_keyvault import SlowKeyvault
from testkit.slow_mongo import SlowMongo
from testkit.waiting import wait_until
from usage.clients.keyvault_credentials import KeyvaultCredentials
from usage.engine import SyncEngine
from usage.recordstore import RecordStore
from usage.runstore import RunStore
from usage.stepretry import StepRetry
from usage.syncjob import SyncJob

from .test_sync_runs import load_openai, stored

CRED = "k" * 32
DEADLINE_S = 0.4  # the client's deadline per keyvault call in these tests (5 s in production)
FAST = StepRetry(first_delay_s=0.05, max_delay_s=0.2)


@pytest.fixture
def keyvault() -> Iterator[SlowKeyvault]:
    with SlowKeyvault() as server:
        yield server


def keyvault_client(server: SlowKeyvault) -> KeyvaultCredentials:
    channel = grpc.insecure_channel(server.address)
    return KeyvaultCredentials(Backend(channel, keyvault_pb2_grpc.KeyVaultServiceStub, DEADLINE_S))


def backfill(
    harness: Any, credentials: Any, records: RecordStore | None = None, runs: RunStore | None = None
):  # noqa: ANN201
    """A 90-day sync of CRED queued as the gateway would, run by a job whose keyvault (and
    optionally database) are the slow peers; returns the finished run."""
    run = harness.syncs.start(harness.account, CRED, harness.day(89).isoformat(), "", "manual")
    claimed = harness.runs.claim(harness.owner, harness.clock())
    assert claimed is not None and claimed["_id"] == run["_id"]
    job = SyncJob(
        runs or harness.runs,
        records or harness.records,
        credentials,
        harness.connector,
        harness.owner,
        harness.clock,
        retry=FAST,
    )
    job.execute(claimed)
    return harness.runs.get(harness.account, run["_id"])


def total(harness: Any) -> Decimal:
    """The summary over the whole 90-day backfill (the default filter covers 30 days)."""
    flt = harness.queries.make_filter(
        harness.account, harness.day(89).isoformat(), harness.day(0).isoformat()
    )
    return harness.queries.summary(flt, []).total_cost_usd


def openai_key(harness: Any, keyvault: SlowKeyvault) -> Any:
    tenant = harness.connect("openai", CRED)  # the harness' in-memory key store knows it (StartSync)
    keyvault.add(harness.account, CRED, "openai", tenant.api_key)
    load_openai(
        tenant,
        [(harness.day(80), "gpt-4o, input", "12.34"), (harness.day(2), "gpt-4o-mini, input", "0.01")],
    )
    return tenant


def test_a_reveal_answered_after_the_deadline_is_asked_again_and_the_backfill_completes(
    harness: Any, keyvault: SlowKeyvault
) -> None:
    openai_key(harness, keyvault)
    keyvault.slow("RevealCredential", times=2, delay_s=DEADLINE_S * 4)
    run = backfill(harness, keyvault_client(keyvault))
    assert run["status"] == "succeeded", run["error"]
    assert (run["days"], run["failed_days"]) == (90, [])
    assert total(harness) == Decimal("12.35")
    assert keyvault.calls.count(("RevealCredential", True)) == 2
    assert keyvault.calls.count(("RevealCredential", False)) == 1
    key = keyvault.keys[(harness.account, CRED)]
    assert key.status == "active" and key.last_sync_at is not None


def test_a_key_store_silent_through_every_attempt_fails_the_run_and_the_next_sync_asks_every_day(
    harness: Any, keyvault: SlowKeyvault
) -> None:
    openai_key(harness, keyvault)
    keyvault.slow("RevealCredential", times=None, delay_s=DEADLINE_S * 3)
    run = backfill(harness, keyvault_client(keyvault))
    assert run["status"] == "failed"
    assert run["error"] == (
        f"The key store did not answer after {FAST.attempts} attempts; nothing was synced. "
        "The next sync retries these days."
    )
    assert keyvault.count("RevealCredential") == FAST.attempts
    assert len(run["failed_days"]) == 90 and run["failed_days"][0]["date"] == harness.day(89).isoformat()
    # The scheduled sync that follows reaches back to the first day of the backfill, not 30 days.
    engine = SyncEngine(
        harness.runs,
        lambda owner, stopping: harness.job(stopping, owner),
        workers=1,
        interval_s=3600,
        stale_s=300,
        clock=harness.clock,
    )
    harness.clock.advance(hours=7)
    assert engine.housekeeping_pass() == 1
    scheduled = harness.runs.runs.find_one({"reason": "scheduled"})
    assert scheduled["from_date"] == harness.day(89).isoformat()


def test_a_late_status_write_is_asked_again(harness: Any, keyvault: SlowKeyvault) -> None:
    openai_key(harness, keyvault)
    keyvault.slow("UpdateCredentialStatus", times=1, delay_s=DEADLINE_S * 4)
    run = backfill(harness, keyvault_client(keyvault))
    assert run["status"] == "succeeded"
    # The late write landed too; writing "active, synced at" twice is harmless (idempotent).
    assert keyvault.count("UpdateCredentialStatus") == 2
    key = keyvault.keys[(harness.account, CRED)]
    wait_until(lambda: len(key.updates) == 2, timeout_s=10, what="the held write to land")
    assert key.updates == ["active", "active"] and key.last_sync_at is not None


@pytest.fixture
def slow_db(usage_mongo_uri: str, harness: Any) -> Iterator[tuple[SlowMongo, Any]]:
    """The harness' database behind the delaying proxy, with a 0.4 s socket deadline."""
    with SlowMongo(usage_mongo_uri) as proxy:
        client: MongoClient = MongoClient(
            proxy.uri, tz_aware=True, uuidRepresentation="standard", socketTimeoutMS=400, retryWrites=False
        )
        try:
            yield proxy, client[harness.db.name]
        finally:
            client.close()


def test_a_database_write_acknowledged_late_is_asked_again_and_nothing_is_doubled(
    harness: Any, keyvault: SlowKeyvault, slow_db: tuple[SlowMongo, Any]
) -> None:
    proxy, db = slow_db
    openai_key(harness, keyvault)
    # The day's records land, but the acknowledgement comes after the driver's deadline, twice.
    proxy.slow("update", "usage_records", times=2, delay_s=1.5)
    run = backfill(harness, keyvault_client(keyvault), RecordStore(db), RunStore(db))
    assert proxy.delayed == [("update", "usage_records")] * 2
    assert run["status"] == "succeeded", run["error"]
    assert run["failed_days"] == []
    assert total(harness) == Decimal("12.35")
    assert [(d["model"], str(d["cost_usd"])) for d in stored(harness)] == [
        ("gpt-4o", "12.34"),
        ("gpt-4o-mini", "0.01"),
    ]
