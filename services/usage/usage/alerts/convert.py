"""Alert documents and domain results → usage.v1 protobuf messages, and requests → settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from aicosts.usage.v1 import alerts_pb2 as pb
from svccommon import platforms
from svccommon.pbtime import timestamp

from usage.alerts.budgets import BudgetSettings, check_scope, check_settings
from usage.alerts.budgetstore import settings_of
from usage.alerts.commands import BudgetStatus
from usage.alerts.settings import AlertSettings, check_alert_settings
from usage.forecast import Forecast
from usage.recordstore import from_d128


def _money(value: Decimal | None) -> str:
    """Cents, always two places ("0.00", "84.99"): budgets and forecasts are shown as dollars."""
    return f"{value.quantize(Decimal('0.01')):f}" if value is not None else ""


def budget_settings(msg: pb.BudgetInput) -> BudgetSettings:
    s = msg.scope
    scope = check_scope(s.kind, s.platform, s.model, s.credential_id, list(platforms.PLATFORMS))
    return check_settings(
        name=msg.name,
        amount_usd=msg.amount_usd,
        period=msg.period,
        start_date=msg.start_date,
        end_date=msg.end_date,
        scope=scope,
        thresholds=list(msg.thresholds),
        forecast_thresholds=list(msg.forecast_thresholds),
        email_owner=msg.email_owner,
        emails=list(msg.emails),
        destination_ids=list(msg.destination_ids),
    )


def budget_input(s: BudgetSettings) -> pb.BudgetInput:
    return pb.BudgetInput(
        name=s.name,
        amount_usd=_money(s.amount_usd),
        period=s.period,
        start_date=s.start_date.isoformat() if s.start_date else "",
        end_date=s.end_date.isoformat() if s.end_date else "",
        scope=pb.BudgetScope(
            kind=s.scope.kind,
            platform=s.scope.platform,
            model=s.scope.model,
            credential_id=s.scope.credential_id,
        ),
        thresholds=list(s.thresholds),
        forecast_thresholds=list(s.forecast_thresholds),
        email_owner=s.email_owner,
        emails=list(s.emails),
        destination_ids=list(s.destination_ids),
    )


def budget(doc: dict[str, Any], status: BudgetStatus) -> pb.Budget:
    f = status.forecast
    return pb.Budget(
        id=doc["_id"],
        settings=budget_input(settings_of(doc)),
        status=pb.BudgetStatus(
            period_start=status.period_start.isoformat(),
            period_end=status.period_end.isoformat(),
            spent_usd=_money(status.spent_usd),
            projected_usd=_money(f.projected_usd) if f else "",
            projected_low_usd=_money(f.low_usd) if f else "",
            projected_high_usd=_money(f.high_usd) if f else "",
            percent_used=str(status.percent_used),
            projected_crossing=status.projected_crossing.isoformat() if status.projected_crossing else "",
            crossed=status.crossed,
        ),
        created_at=timestamp(doc.get("created_at")),
        updated_at=timestamp(doc.get("updated_at")),
        muted_until=timestamp(_future(doc.get("muted_until"))),
    )


def _future(at: dt.datetime | None) -> dt.datetime | None:
    if at is None:
        return None
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return at if at > dt.datetime.now(dt.UTC) else None


def destination(doc: dict[str, Any]) -> pb.Destination:
    return pb.Destination(
        id=doc["_id"],
        kind=doc["kind"],
        name=doc["name"],
        target=doc["target"],
        created_at=timestamp(doc.get("created_at")),
        last_status=doc.get("last_status") or "",
        last_delivery_at=timestamp(doc.get("last_delivery_at")),
    )


def delivery(doc: dict[str, Any]) -> pb.Delivery:
    return pb.Delivery(
        id=doc["_id"],
        alert_id=doc.get("alert_id") or "",
        channel=doc["channel"],
        destination_id=doc.get("destination_id") or "",
        status=doc["status"],
        attempts=[
            pb.DeliveryAttempt(
                at=timestamp(a["at"]),
                status_code=a.get("status_code") or 0,
                error=a.get("error") or "",
                duration_ms=a.get("duration_ms") or 0,
            )
            for a in reversed(doc.get("attempts") or [])  # newest first, as a log reads
        ],
        created_at=timestamp(doc.get("fired_at")),
        next_attempt_at=timestamp(doc.get("next_attempt_at") if doc["status"] == "pending" else None),
    )


def alert(doc: dict[str, Any]) -> pb.Alert:
    return pb.Alert(
        id=doc["_id"],
        kind=doc["kind"],
        title=doc["title"],
        message=doc["message"],
        budget_id=doc.get("budget_id") or "",
        subject=doc.get("subject") or "",
        date=doc["date"],
        threshold=doc.get("threshold") or 0,
        amount_usd=_money(from_d128(doc.get("amount_usd"))),
        fired_at=timestamp(doc.get("fired_at")),
        acknowledged_at=timestamp(doc.get("acknowledged_at")),
        deliveries=doc.get("deliveries") or "none",
    )


def alert_settings(msg: pb.AlertSettings) -> AlertSettings:
    return check_alert_settings(
        anomalies_enabled=msg.anomalies_enabled,
        sensitivity=msg.sensitivity,
        min_usd=msg.min_usd,
        email_owner=msg.email_owner,
        emails=list(msg.emails),
        destination_ids=list(msg.destination_ids),
    )


def settings_message(s: AlertSettings) -> pb.AlertSettings:
    return pb.AlertSettings(
        anomalies_enabled=s.anomalies_enabled,
        sensitivity=s.sensitivity,
        min_usd=_money(s.min_usd),
        email_owner=s.email_owner,
        emails=list(s.emails),
        destination_ids=list(s.destination_ids),
    )


def forecast_line(platform: str, f: Forecast) -> pb.ForecastLine:
    return pb.ForecastLine(
        platform=platform,
        actual_usd=_money(f.actual_usd),
        projected_usd=_money(f.projected_usd),
        low_usd=_money(f.low_usd),
        high_usd=_money(f.high_usd),
        method=f.method,
    )
