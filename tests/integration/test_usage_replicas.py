"""Two usage replicas on one database: each keeps its own in-memory summary cache, and a write
acknowledged through one is in the very next summary answered by the other (no waiting, no
cache expiry). The second replica is a real `python -m usage` process started as `make run`
starts the first one; both are called over mTLS as the parser (writes) and the gateway (reads).
Two more replicas, both running the scheduler, sync a key once per interval and never both."""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import grpc
import pytest
from aicosts.usage.v1 import usage_pb2 as pb
from aicosts.usage.v1 import usage_pb2_grpc
from devstack.__main__ import stack_env
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient
from support import processes
from support.accounts import new_account
from support.grpc_clients import channel_as, identity_files
from support.ports import free_ports
from support.usage_api import add_credential
from testkit.waiting import wait_until

pytestmark = pytest.mark.slow  # starts a second usage process and waits for scheduled syncs

DAY = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()


@pytest.fixture(scope="module")
def second_usage(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_dir = tmp_path_factory.mktemp("usage-replica")
    (port,) = free_ports(1)
    env = stack_env(dict(stack.env))
    env.update(
        {"USAGE_PORT": str(port), "USAGE_ADDR": f"127.0.0.1:{port}", "USAGE_SYNC_INTERVAL_SECONDS": "0"}
    )
    started = [processes.start("usage", [sys.executable, "-m", "usage"], env, log_dir)]
    address = f"127.0.0.1:{port}"
    try:
        _wait_serving(stack, address, started, log_dir)
        yield address
    finally:
        processes.stop(started)


def _wait_serving(stack: Any, address: str, started: list, log_dir: Any, timeout_s: float = 60) -> None:
    files = identity_files(stack.var_dir / "secrets" / "tls", "gateway", log_dir / "health-id")
    health = health_pb2_grpc.HealthStub(channel_as(address, files))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert started[0].poll() is None, processes.logs(log_dir)[-4000:]
        try:
            if (
                health.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                == health_pb2.HealthCheckResponse.SERVING
            ):
                return
        except grpc.RpcError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"the second usage replica did not serve in {timeout_s}s")


def _stub(stack: Any, address: str, identity: str, tmp_path: Any) -> Any:
    files = identity_files(stack.var_dir / "secrets" / "tls", identity, tmp_path / identity)
    return usage_pb2_grpc.UsageServiceStub(channel_as(address, files))


def test_a_write_through_one_replica_is_in_the_next_summary_of_the_other(
    stack: Any, second_usage: str, tmp_path: Any
) -> None:
    account = new_account(stack).account_id
    first = f"127.0.0.1:{stack.ports['usage']}"
    replicas = {
        name: {
            "write": _stub(stack, address, "parser", tmp_path),
            "read": _stub(stack, address, "gateway", tmp_path),
        }
        for name, address in (("first", first), ("second", second_usage))
    }

    def total(name: str) -> Decimal:
        request = pb.GetUsageSummaryRequest(
            account_id=account, filter=pb.UsageFilter(from_date=DAY, to_date=DAY)
        )
        return Decimal(replicas[name]["read"].GetUsageSummary(request, timeout=30).total_cost_usd)

    assert total("first") == total("second") == 0  # both caches now hold the account
    expected = Decimal(0)
    for round_, (writer, reader) in enumerate([("first", "second"), ("second", "first")] * 3):
        cost = Decimal(round_ + 1) / 8
        records = [pb.RecordInput(platform="mistral", date=DAY, model=f"m{round_}", cost_usd=str(cost))]
        upload = pb.ImportRecordsRequest(account_id=account, upload_id=f"{round_:032d}", records=records)
        assert replicas[writer]["write"].ImportRecords(upload, timeout=30).imported == 1
        expected += cost
        assert total(reader) == expected, f"round {round_}: {reader} missed {writer}'s write"
    # A deletion through one replica is gone from the other's next answer too.
    deleted = pb.DeleteImportedRecordsRequest(account_id=account, upload_id=f"{0:032d}")
    assert replicas["second"]["write"].DeleteImportedRecords(deleted, timeout=30).deleted == 1
    assert total("first") == total("second") == expected - Decimal(1) / 8


SCHEDULE_S = 3  # USAGE_SYNC_INTERVAL_SECONDS of the two scheduling replicas below


@pytest.fixture(scope="module")
def scheduling_replicas(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two more `python -m usage` processes, both scheduling every SCHEDULE_S seconds, on a database
    of their own (the session's keys are not theirs to sync); the reconciler is off so only the
    targets a test registers there are synced. Yields that database."""
    log_dir = tmp_path_factory.mktemp("usage-schedulers")
    name = f"usage_schedulers_{uuid.uuid4().hex[:8]}"
    started = []
    for port in free_ports(2):
        env = stack_env(dict(stack.env))
        env.update(
            {
                "USAGE_PORT": str(port),
                "USAGE_ADDR": f"127.0.0.1:{port}",
                "MONGODB_DATABASE": name,
                "USAGE_SYNC_INTERVAL_SECONDS": str(SCHEDULE_S),
                "USAGE_RECONCILE_INTERVAL_SECONDS": "0",
            }
        )
        started.append(processes.start(f"usage-{port}", [sys.executable, "-m", "usage"], env, log_dir))
        _wait_serving(stack, f"127.0.0.1:{port}", started[-1:], log_dir)
    client: MongoClient = MongoClient(stack.env["MONGODB_URI"], tz_aware=True)
    try:
        yield client[name]
    finally:
        processes.stop(started)
        client.drop_database(name)
        client.close()


def test_two_schedulers_sync_a_key_once_per_interval_never_both(
    stack: Any, http: Any, provider_fakes: Any, scheduling_replicas: Any
) -> None:
    account = new_account(stack)
    tenant = provider_fakes.openai.tenant()
    tenant.load_costs([{"date": DAY, "amount": "1.25", "line_item": "gpt-4o, input"}])
    credential = add_credential(http, stack, account, "openai", tenant.api_key)["id"]
    db = scheduling_replicas
    now = dt.datetime.now(dt.UTC)
    db["sync_targets"].insert_one(
        {
            "account_id": account.account_id,
            "credential_id": credential,
            "platform": "openai",
            "status": "active",
            "next_sync_at": now,
            "registered_at": now,
            "synced_until": DAY,
            "retry_from": None,
        }
    )
    wanted = 5

    def finished() -> list[dict]:
        runs = list(db["sync_runs"].find({"credential_id": credential}).sort("queued_at", 1))
        done = [r for r in runs if r["status"] in ("succeeded", "partial", "failed")]
        return runs if len(done) >= wanted else []

    runs = wait_until(finished, timeout_s=SCHEDULE_S * wanted + 30, what=f"{wanted} scheduled syncs")
    db["sync_targets"].update_one({"credential_id": credential}, {"$set": {"status": "invalid"}})  # stop here
    done = [r for r in runs if r["status"] != "queued" and r["status"] != "running"][:wanted]
    assert {r["reason"] for r in done} == {"scheduled"}
    assert {r["status"] for r in done} == {"succeeded"}, [r["error"] for r in done]
    queued = [r["queued_at"] for r in runs]
    gaps = [(b - a).total_seconds() for a, b in zip(queued, queued[1:], strict=False)]
    # Never both: no two runs within one interval (next_sync_at moves one interval ahead atomically).
    # That it keeps syncing every interval is the wait above (5 runs); how late a tick comes on a
    # loaded machine is not asserted here (a timing figure, not a rule).
    assert min(gaps) >= SCHEDULE_S - 0.01, gaps
    for before, after in zip(done, done[1:], strict=False):
        assert before["finished_at"] <= after["started_at"]  # one at a time
    total = wait_until(
        lambda: db["usage_records"].count_documents({"credential_id": credential}) or None,
        what="the scheduled syncs' records",
    )
    assert total == 1  # synced five times, stored once
