"""The database stops mid-write and comes back on the same port and data (a failover): while it is
down every service reports not ready (/readyz 503) and answers 503; afterwards they reconnect on
their own (no service is restarted) and no acknowledged write is lost."""

from __future__ import annotations

import signal
import time

import pytest
import requests
from chaos.scenario import run_with_fault
from chaos.workload import Workload
from testkit.waiting import wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


def _readyz(stack) -> tuple[int, dict]:
    r = requests.get(f"{stack.base_url}/readyz", timeout=10)
    return r.status_code, r.json()


def test_database_restart_mid_write(chaos_stack, chaos_fakes, scale, report):
    services = {n: p.pid for n, p in chaos_stack.procs.items() if n != "db"}

    def fault(workload: Workload) -> None:
        chaos_stack.kill("db", signal.SIGKILL)
        down_at = time.monotonic()
        report.append(f"database killed (kill -9) after {len(workload.record.seen)} requests")
        # Every service needs the database, so every one must say it is not ready.
        status, body = wait_until(
            lambda: (
                (answer := _readyz(chaos_stack))[0] == 503
                and all(v != "SERVING" for v in answer[1].get("services", {}).values())
                and answer
            ),
            timeout_s=15,
            what="/readyz 503 with every service not serving",
        )
        report.append(f"/readyz {status} within {time.monotonic() - down_at:.1f}s: {body['services']}")
        time.sleep(max(0.0, scale.db_down_s - (time.monotonic() - down_at)))  # the outage itself
        chaos_stack.start("db")
        report.append(f"database started again on the same port and data after {scale.db_down_s:g}s")

    workload = run_with_fault(chaos_stack, chaos_fakes, scale, report, fault)
    restarted = {
        n
        for n, pid in services.items()
        if chaos_stack.procs[n].pid != pid or chaos_stack.procs[n].poll() is not None
    }
    assert not restarted, f"services died instead of reconnecting: {restarted}"
    down = [s for s in workload.record.seen if s.status == 503]
    assert down, "no request saw the outage: the fault did not land mid-workload"
    report.append(f"no service restarted; {len(down)} requests answered 503 while the database was down")
    print(report[-1])
