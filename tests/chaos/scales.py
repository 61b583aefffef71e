"""How long a chaos run is: short (CI, `make test`) or full (`make chaos`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    accounts: int
    before_requests: int  # workload responses seen before the fault
    down_s: float  # how long a killed service stays dead
    db_down_s: float
    after_s: float  # workload time once everything is back
    settle_s: float  # deadline for runs, totals and audit to settle


SCALES = {
    "short": Scale("short", accounts=2, before_requests=25, down_s=2, db_down_s=5, after_s=3, settle_s=60),
    "full": Scale("full", accounts=4, before_requests=150, down_s=10, db_down_s=30, after_s=15, settle_s=120),
}
