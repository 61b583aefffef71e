"""What an alert says, and the bodies sent for it: the email's subject and text, the signed
webhook's JSON, the Slack message. Pure."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from usage.alerts.budgets import BudgetSettings, percent_of

WEBHOOK_VERSION = "2026-12-01"


def usd(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01')):,}"


def day_text(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


def period_text(s: BudgetSettings, first: dt.date, last: dt.date) -> str:
    if s.period == "monthly":
        return first.strftime("%B %Y")
    return f"{day_text(first)} to {day_text(last)}"


def threshold_alert(
    s: BudgetSettings, spent: Decimal, threshold: int, first: dt.date, last: dt.date
) -> tuple[str, str]:
    title = f"Budget '{s.name}' at {threshold}%"
    message = (
        f"Budget '{s.name}' ({s.scope.describe()}): {usd(spent)} of {usd(s.amount_usd)} spent in "
        f"{period_text(s, first, last)} ({percent_of(spent, s.amount_usd)}%), "
        f"past its {threshold}% threshold."
    )
    return title, message


def forecast_alert(
    s: BudgetSettings,
    spent: Decimal,
    projected: Decimal,
    threshold: int,
    crossing: dt.date | None,
    first: dt.date,
    last: dt.date,
) -> tuple[str, str]:
    limit = s.amount_usd * threshold / 100
    title = f"Budget '{s.name}' projected past {threshold}%"
    when = f" by {day_text(crossing)}" if crossing else ""
    message = (
        f"Budget '{s.name}' ({s.scope.describe()}) is projected to reach {usd(limit)} "
        f"({threshold}% of {usd(s.amount_usd)}){when}: forecast {usd(projected)} for "
        f"{period_text(s, first, last)}, {usd(spent)} spent so far."
    )
    return title, message


def alert_json(alert: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": alert["_id"],
        "kind": alert["kind"],
        "title": alert["title"],
        "message": alert["message"],
        "budget_id": alert.get("budget_id") or None,
        "subject": alert.get("subject") or None,
        "date": alert["date"],
        "threshold": alert.get("threshold") or None,
        "amount_usd": str(alert["amount_usd"]),
        "fired_at": alert["fired_at"].isoformat().replace("+00:00", "Z"),
    }


def payloads(alert: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per channel, what a delivery of this alert sends (kept with the delivery, so a retry
    sends the same thing). Auth adds the email's footer with the link to the alerts page."""
    text = alert["message"]
    body = {"type": "alert.fired", "api_version": WEBHOOK_VERSION, "alert": alert_json(alert)}
    return {
        "email": {"subject": f"[AICosts] {alert['title']}", "text": text},
        "webhook": {"body": json.dumps(body, separators=(",", ":"), sort_keys=True)},
        "slack": {"body": json.dumps({"text": f"*{alert['title']}*\n{alert['message']}"})},
    }


def test_payloads(destination_name: str, now: dt.datetime) -> dict[str, dict[str, Any]]:
    title = f"Test message for '{destination_name}'"
    message = "This is a test from AICosts: alerts for this destination will arrive like this."
    body = {
        "type": "test",
        "api_version": WEBHOOK_VERSION,
        "sent_at": now.isoformat().replace("+00:00", "Z"),
        "message": message,
    }
    return {
        "webhook": {"body": json.dumps(body, separators=(",", ":"), sort_keys=True)},
        "slack": {"body": json.dumps({"text": f"*{title}*\n{message}"})},
    }
