"""One chaos scenario's frame: a fresh workload on the chaos stack, a fault in the middle of it,
everything back up, then every invariant (invariants.py), each reported."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chaos import invariants
from chaos.rig import ChaosStack
from chaos.scales import Scale
from chaos.workload import Workload
from testkit.waiting import wait_until


def run_with_fault(
    stack: ChaosStack,
    fakes: Any,
    scale: Scale,
    report: list[str],
    fault: Callable[[Workload], None],
    *,
    gateway_down: bool = False,
) -> Workload:
    started = time.monotonic()
    workload = Workload(stack, fakes, scale.accounts)
    workload.start()
    try:
        # The fault lands mid-workload: once it has answered requests of every kind.
        wait_until(
            lambda: (
                len(workload.record.seen) >= scale.before_requests
                and all(workload.record.count(op) for op in ("sign-in", "summary", "upload", "sync"))
            ),
            timeout_s=120,
            what="the workload to get going",
        )
        fault(workload)
        mark = len(workload.record.seen)
        wait_until(stack.ready, timeout_s=90, what="the stack to be ready again")
        # Keep the workload going until it has been served again after the fault.
        wait_until(
            lambda: sum(1 for s in workload.record.seen[mark:] if s.status and s.status < 500) >= 10,
            timeout_s=60,
            what="the workload to be served again",
        )
        time.sleep(scale.after_s)  # more workload on the recovered stack: traffic, not a wait
    finally:
        workload.stop()
    report.append(f"workload: {len(workload.accounts)} accounts, {len(workload.record.seen)} requests")
    report.append(invariants.responses(workload.record, no_answer_ok=gateway_down))
    report.append(invariants.sync_runs_end(workload, scale.settle_s))
    report.append(invariants.totals(workload, scale.settle_s))
    report.append(invariants.uploads(workload))
    report.append(invariants.audit(workload, scale.settle_s))
    report.append(f"runtime {time.monotonic() - started:.0f}s")
    for line in report:
        print(line, flush=True)
    return workload
