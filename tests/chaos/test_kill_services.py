"""kill -9 of each service in turn in the middle of the workload, then a restart (as Kubernetes
restarts a pod): clients of the dead service get 503 problem+json with Retry-After, never a 500
or a hang; in-flight syncs resume or are queued again and finish; nothing acknowledged is lost."""

from __future__ import annotations

import signal
import time

import pytest
from chaos.scenario import run_with_fault
from chaos.workload import Workload
from testkit.waiting import wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


def _usage_busy(stack, workload: Workload) -> bool:
    """usage's busiest moment: a sync run is running."""
    import requests

    for account in workload.accounts:
        r = requests.get(f"{stack.base_url}/v1/sync-runs", headers=account.headers, timeout=10)
        if r.status_code == 200 and any(run["status"] == "running" for run in r.json()["items"]):
            return True
    return False


@pytest.mark.parametrize("service", ["auth", "keyvault", "usage", "parser", "gateway"])
def test_kill_9_and_restart(service, chaos_stack, chaos_fakes, scale, report):
    def fault(workload: Workload) -> None:
        if service == "usage":
            workload.sync()  # queue one more so a run is in flight when usage dies
            wait_until(lambda: _usage_busy(chaos_stack, workload), timeout_s=30, what="a running sync")
        pid = chaos_stack.procs[service].pid
        chaos_stack.kill(service, signal.SIGKILL)
        report.append(f"kill -9 {service} (pid {pid}) after {len(workload.record.seen)} requests")
        time.sleep(scale.down_s)  # the outage the workload runs into
        chaos_stack.start(service)
        report.append(f"{service} restarted after {scale.down_s:g}s down")

    run_with_fault(chaos_stack, chaos_fakes, scale, report, fault, gateway_down=service == "gateway")
