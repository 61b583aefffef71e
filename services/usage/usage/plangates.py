"""What the account's plan (from auth, svccommon.accountinfo) allows of the actions usage owns:
how far back a sync may reach and CSV export. Budgets, alert channels and anomaly detection are
checked by the alert commands (usage/alerts/commands.py) with the same plangate.require."""

from __future__ import annotations

from datetime import date

from svccommon.plangate import require
from svccommon.plans import Plan

from usage.limits import parse_day


def require_history(plan: Plan, from_value: str, today: date) -> None:
    """PlanRequired when `from_value` is further back than the plan's history but a plan reaches
    it; beyond every plan, the sync's own range check answers (limits.sync_range)."""
    if not from_value:
        return
    back = (today - parse_day(from_value, "from")).days + 1
    require(plan, lambda p: p.history_days >= back, f"Syncing more than {plan.history_days} days back")


def require_export(plan: Plan) -> None:
    require(plan, lambda p: p.csv_export, "CSV export")
