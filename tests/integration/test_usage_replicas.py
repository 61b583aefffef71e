"""Two usage replicas on one database: each keeps its own in-memory summary cache, and a write
acknowledged through one is in the very next summary answered by the other (no waiting, no
cache expiry). The second replica is a real `python -m usage` process started as `make run`
starts the first one; both are called over mTLS as the parser (writes) and the gateway (reads)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import grpc
import pytest
from aicosts.usage.v1 import usage_pb2 as pb
from aicosts.usage.v1 import usage_pb2_grpc
from devstack.__main__ import stack_env
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support import processes
from support.accounts import new_account
from support.grpc_clients import channel_as, identity_files
from support.ports import free_ports

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
