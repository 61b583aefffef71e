"""The one plan check every service that owns a gated action uses: allowed, or PlanRequired naming
the cheapest plan that allows it (the gateway answers 403 plan-required with plan and
required_plan). When no plan allows it, the check passes and the service's own limit answers
(a plain 400/422: no upgrade would help)."""

from __future__ import annotations

from collections.abc import Callable

from svccommon.errors import PlanRequired
from svccommon.plans import Plan, cheapest_plan, required_message


def require(current: Plan, allows: Callable[[Plan], bool], what: str) -> None:
    """`what` completes "... is part of the <plan> plan", e.g. "CSV export"."""
    if allows(current):
        return
    needed = cheapest_plan(allows)
    if needed is not None:
        raise PlanRequired(required_message(current, needed, what), plan=current.id, required_plan=needed.id)
