"""Plan checks where an action happens: the caller's plan (and verified state) as auth knows it
right now, and the 403 problem (kind "plan-required") that names the plan that allows the action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aicosts.auth.v1 import auth_pb2
from flask import current_app
from svccommon.plans import Plan, cheapest_plan, effective_plan, required_message

from gateway.problems import Problem


@dataclass(frozen=True)
class Standing:
    """What the services that gate an action need to know about the account, from auth."""

    plan: Plan
    email_verified: bool


def standing_of(account_id: str) -> Standing:
    """The account's plan and verified state (auth is the one source; no caching, so an upgrade or
    a confirmation counts at once). The services decide; the gateway only passes these on."""
    auth = current_app.extensions["backends"]["auth"]
    account = auth.call("GetAccount", auth_pb2.GetAccountRequest(account_id=account_id)).account
    return Standing(effective_plan(account.plan), account.email_verified)


def plan_of(account_id: str) -> Plan:
    return standing_of(account_id).plan


def plan_required(current: Plan, needed: Plan, what: str) -> Problem:
    """`what` completes "... is part of the <plan> plan", e.g. "CSV export"."""
    return Problem(
        403,
        required_message(current, needed, what),
        kind="plan-required",
        extra={"plan": current.id, "required_plan": needed.id},
    )


def require(current: Plan, allows: Callable[[Plan], bool], what: str) -> None:
    """Raise plan-required unless `current` allows it. When no plan allows it either, return
    and let the service's own limit answer (a plain 400/422, since no upgrade would help)."""
    if allows(current):
        return
    needed = cheapest_plan(allows)
    if needed is not None:
        raise plan_required(current, needed, what)
