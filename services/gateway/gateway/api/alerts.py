"""Budgets, alert destinations, alert history, anomaly settings and the month-end forecast. The
usage service owns all of them and checks every rule (plans included); this module maps HTTP to
its methods and back (docs/alerts.md)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aicosts.usage.v1 import alerts_pb2 as pb
from flask import Blueprint, current_app, g, jsonify
from pydantic import BaseModel, ConfigDict, Field
from svccommon import platforms
from svccommon.shapes import EMAIL_PATTERN, NAME_PATTERN, POSITIVE_USD_PATTERN

from gateway.api.alerts_models import (
    Alert,
    AlertDelivery,
    AlertDestination,
    Budget,
    BudgetScope,
    DeliveryAttempt,
    Forecast,
    ForecastLine,
    MutedAlert,
    NewDestinationAnswer,
    PlatformForecast,
    StoredAlertSettings,
)
from gateway.api.alerts_openapi import OPENAPI_PATHS  # noqa: F401 (module contract)
from gateway.api.usage import Day
from gateway.authn import require_account
from gateway.jsonfmt import timestamp
from gateway.openapi import body, query
from gateway.problems import Problem

bp = Blueprint("alerts", __name__)
_ID = re.compile(r"[0-9a-f]{32}")
Amount = Annotated[
    str,
    Field(pattern=POSITIVE_USD_PATTERN, max_length=20, description='US dollars, more than 0, e.g. "100.00"'),
]
MinimumUsd = Annotated[str, Field(pattern=r"^\d{1,6}(\.\d{1,2})?$", description="US dollars, 0 to 999999.99")]
Percent = Annotated[int, Field(ge=1, le=1000)]
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)]
Id = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]
if TYPE_CHECKING:
    PlatformId = str
else:  # the platform catalog, as an enum in the schema (a type checker sees a str)
    PlatformId = Literal[tuple(platforms.PLATFORMS)]


def _usage():
    return current_app.extensions["backends"]["usage"]


def _id(raw: str, what: str) -> str:
    if not _ID.fullmatch(raw):
        raise Problem(404, f"{what} not found", kind="not-found")
    return raw


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountScope(_Strict):
    kind: Literal["account"]


class PlatformScope(_Strict):
    kind: Literal["platform"]
    platform: PlatformId


class ModelScope(_Strict):
    kind: Literal["model"]
    platform: PlatformId
    model: Name


class KeyScope(_Strict):
    kind: Literal["credential"]
    credential_id: Id = Field(description="a provider key's id (GET /v1/credentials)")


Scope = Annotated[AccountScope | PlatformScope | ModelScope | KeyScope, Field(discriminator="kind")]


class BudgetPatch(_Strict):
    """Any fields of a budget; the ones sent replace the stored ones."""

    name: Name | None = None
    amount_usd: Amount | None = None
    period: Literal["monthly", "custom"] | None = None
    start_date: Day | None = Field(default=None, description="custom period: first day (inclusive)")
    end_date: Day | None = Field(default=None, description="custom period: last day (inclusive)")
    scope: Scope | None = None
    thresholds: list[Percent] | None = Field(
        default=None, max_length=10, description="percent of the amount, on actual spend"
    )
    forecast_thresholds: list[Percent] | None = Field(
        default=None, max_length=10, description="percent of the amount, on the month-end forecast"
    )
    email_owner: bool | None = Field(default=None, description="email the account's own address")
    emails: list[Email] | None = Field(default=None, max_length=10)
    destination_ids: list[Id] | None = Field(default=None, max_length=10)


class NewBudget(BudgetPatch):
    name: Name
    amount_usd: Amount
    period: Literal["monthly", "custom"] = "monthly"
    thresholds: list[Percent] = Field(default=[50, 80, 100], max_length=10)
    forecast_thresholds: list[Percent] = Field(default_factory=list, max_length=10)
    email_owner: bool = True
    emails: list[Email] = Field(default_factory=list, max_length=10)
    destination_ids: list[Id] = Field(default_factory=list, max_length=10)


def _budget_input(fields: dict[str, Any], into: pb.BudgetInput) -> pb.BudgetInput:
    scope = fields.pop("scope", None)
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(into, name)[:] = value
        else:
            setattr(into, name, value if value is not None else "")
    if scope is not None:
        into.scope.CopyFrom(pb.BudgetScope(**{k: v or "" for k, v in scope.items()}))
    if into.period != "custom":
        into.start_date, into.end_date = "", ""
    return into


def budget_json(b: pb.Budget) -> dict[str, Any]:
    s, st = b.settings, b.status
    scope = {k: v for k in ("platform", "model", "credential_id") if (v := getattr(s.scope, k))}
    return Budget(
        id=b.id,
        name=s.name,
        amount_usd=s.amount_usd,
        period=s.period,
        start_date=s.start_date or None,
        end_date=s.end_date or None,
        scope=BudgetScope(kind=s.scope.kind, **scope),  # only the names its kind has
        thresholds=list(s.thresholds),
        forecast_thresholds=list(s.forecast_thresholds),
        email_owner=s.email_owner,
        emails=list(s.emails),
        destination_ids=list(s.destination_ids),
        status={
            "period_start": st.period_start,
            "period_end": st.period_end,
            "spent_usd": st.spent_usd,
            "projected_usd": st.projected_usd or None,
            "projected_low_usd": st.projected_low_usd or None,
            "projected_high_usd": st.projected_high_usd or None,
            "percent_used": st.percent_used,
            "projected_crossing": st.projected_crossing or None,
            "crossed": list(st.crossed),
        },
        muted_until=timestamp(b, "muted_until"),
        created_at=timestamp(b, "created_at"),
        updated_at=timestamp(b, "updated_at"),
    ).dump()


@bp.get("/v1/budgets")
@require_account
def list_budgets():
    reply = _usage().call("ListBudgets", pb.ListBudgetsRequest(account_id=g.account_id))
    return jsonify(items=[budget_json(b) for b in reply.budgets], next_cursor=None)


@bp.post("/v1/budgets")
@require_account
@body(NewBudget)
def create_budget(body: NewBudget):
    budget = _budget_input(body.model_dump(exclude_none=True), pb.BudgetInput())
    reply = _usage().call("CreateBudget", pb.CreateBudgetRequest(account_id=g.account_id, budget=budget))
    response = jsonify(budget=budget_json(reply.budget))
    response.status_code = 201
    response.headers["Location"] = f"/v1/budgets/{reply.budget.id}"
    return response


@bp.get("/v1/budgets/<budget_id>")
@require_account
def get_budget(budget_id: str):
    request = pb.GetBudgetRequest(account_id=g.account_id, budget_id=_id(budget_id, "budget"))
    return jsonify(budget=budget_json(_usage().call("GetBudget", request).budget))


@bp.patch("/v1/budgets/<budget_id>")
@require_account
@body(BudgetPatch)
def update_budget(budget_id: str, body: BudgetPatch):
    budget_id = _id(budget_id, "budget")
    current = _usage().call("GetBudget", pb.GetBudgetRequest(account_id=g.account_id, budget_id=budget_id))
    merged = pb.BudgetInput()
    merged.CopyFrom(current.budget.settings)
    _budget_input(body.model_dump(exclude_unset=True, exclude_none=True), merged)  # null: keep as is
    reply = _usage().call(
        "UpdateBudget", pb.UpdateBudgetRequest(account_id=g.account_id, budget_id=budget_id, budget=merged)
    )
    return jsonify(budget=budget_json(reply.budget))


@bp.delete("/v1/budgets/<budget_id>")
@require_account
def delete_budget(budget_id: str):
    request = pb.DeleteBudgetRequest(account_id=g.account_id, budget_id=_id(budget_id, "budget"))
    _usage().call("DeleteBudget", request)
    return "", 204


# --- destinations ---------------------------------------------------------------------


class NewDestination(_Strict):
    kind: Literal["webhook", "slack"]
    name: Name
    url: str = Field(
        min_length=8,
        max_length=2048,
        description="https only; addresses that are private, loopback, link-local or cloud metadata are "
        "refused; Slack: an incoming-webhook URL (https://hooks.slack.com/services/...)",
    )


class Page(_Strict):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=500)


class AlertPage(Page):
    unacknowledged: bool = Field(default=False, description="only alerts not acknowledged yet")


def destination_json(d: pb.Destination) -> dict[str, Any]:
    return AlertDestination(
        id=d.id,
        kind=d.kind,
        name=d.name,
        target=d.target,
        created_at=timestamp(d, "created_at"),
        last_status=d.last_status or None,
        last_delivery_at=timestamp(d, "last_delivery_at"),
    ).dump()


def delivery_json(d: pb.Delivery) -> dict[str, Any]:
    return AlertDelivery(
        id=d.id,
        alert_id=d.alert_id or None,
        channel=d.channel,
        destination_id=d.destination_id or None,
        status=d.status,
        attempts=[
            DeliveryAttempt(
                at=timestamp(a, "at"),
                status_code=a.status_code or None,
                error=a.error or None,
                duration_ms=a.duration_ms,
            )
            for a in d.attempts
        ],
        created_at=timestamp(d, "created_at"),
        next_attempt_at=timestamp(d, "next_attempt_at"),
    ).dump()


@bp.get("/v1/alert-destinations")
@require_account
def list_destinations():
    reply = _usage().call("ListDestinations", pb.ListDestinationsRequest(account_id=g.account_id))
    return jsonify(items=[destination_json(d) for d in reply.destinations], next_cursor=None)


@bp.post("/v1/alert-destinations")
@require_account
@body(NewDestination)
def create_destination(body: NewDestination):
    request = pb.CreateDestinationRequest(
        account_id=g.account_id, kind=body.kind, name=body.name, url=body.url
    )
    reply = _usage().call("CreateDestination", request)
    created = NewDestinationAnswer(
        destination=destination_json(reply.destination), signing_secret=reply.signing_secret or None
    )
    response = jsonify(created.dump())
    response.status_code = 201
    response.headers["Location"] = f"/v1/alert-destinations/{reply.destination.id}"
    response.headers["Cache-Control"] = "no-store"  # the signing secret is in it
    return response


@bp.delete("/v1/alert-destinations/<destination_id>")
@require_account
def delete_destination(destination_id: str):
    request = pb.DeleteDestinationRequest(
        account_id=g.account_id, destination_id=_id(destination_id, "destination")
    )
    _usage().call("DeleteDestination", request)
    return "", 204


@bp.post("/v1/alert-destinations/<destination_id>/test")
@require_account
def test_destination(destination_id: str):
    request = pb.TestDestinationRequest(
        account_id=g.account_id, destination_id=_id(destination_id, "destination")
    )
    # One delivery attempt is made while the request waits (bounded by the outbound timeouts).
    reply = _usage().call("TestDestination", request, timeout=30.0)
    return jsonify(delivery=delivery_json(reply.delivery))


@bp.get("/v1/alert-destinations/<destination_id>/deliveries")
@require_account
@query(Page)
def list_deliveries(destination_id: str, query: Page):
    request = pb.ListDeliveriesRequest(
        account_id=g.account_id,
        destination_id=_id(destination_id, "destination"),
        limit=query.limit,
        cursor=query.cursor or "",
    )
    reply = _usage().call("ListDeliveries", request)
    return jsonify(items=[delivery_json(d) for d in reply.deliveries], next_cursor=reply.next_cursor or None)


# --- alert history ----------------------------------------------------------------------


def alert_json(a: pb.Alert) -> dict[str, Any]:
    return Alert(
        id=a.id,
        kind=a.kind,
        title=a.title,
        message=a.message,
        budget_id=a.budget_id or None,
        subject=a.subject or None,
        date=a.date,
        threshold=a.threshold or None,
        amount_usd=a.amount_usd,
        fired_at=timestamp(a, "fired_at"),
        acknowledged_at=timestamp(a, "acknowledged_at"),
        deliveries=a.deliveries,
    ).dump()


class Mute(_Strict):
    days: int = Field(
        default=7, ge=1, le=90, description="no new alert about the same budget or series for this long"
    )


@bp.get("/v1/alerts")
@require_account
@query(AlertPage)
def list_alerts(query: AlertPage):
    request = pb.ListAlertsRequest(
        account_id=g.account_id,
        limit=query.limit,
        cursor=query.cursor or "",
        unacknowledged_only=query.unacknowledged,
    )
    reply = _usage().call("ListAlerts", request)
    return jsonify(items=[alert_json(a) for a in reply.alerts], next_cursor=reply.next_cursor or None)


@bp.post("/v1/alerts/<alert_id>/acknowledge")
@require_account
def acknowledge_alert(alert_id: str):
    request = pb.AcknowledgeAlertRequest(account_id=g.account_id, alert_id=_id(alert_id, "alert"))
    return jsonify(alert=alert_json(_usage().call("AcknowledgeAlert", request).alert))


@bp.post("/v1/alerts/<alert_id>/mute")
@require_account
@body(Mute, optional=True)
def mute_alert(alert_id: str, body: Mute):
    request = pb.MuteAlertRequest(account_id=g.account_id, alert_id=_id(alert_id, "alert"), days=body.days)
    reply = _usage().call("MuteAlert", request)
    return jsonify(
        MutedAlert(alert=alert_json(reply.alert), muted_until=timestamp(reply, "muted_until")).dump()
    )


# --- anomaly settings and forecast ------------------------------------------------------


class AlertSettings(_Strict):
    anomalies_enabled: bool = False
    sensitivity: Literal["low", "normal", "high"] = "normal"
    min_usd: MinimumUsd = "20.00"
    email_owner: bool = True
    emails: list[Email] = Field(default_factory=list, max_length=10)
    destination_ids: list[Id] = Field(default_factory=list, max_length=10)


def settings_json(s: pb.AlertSettings) -> dict[str, Any]:
    return StoredAlertSettings(
        anomalies_enabled=s.anomalies_enabled,
        sensitivity=s.sensitivity,
        min_usd=s.min_usd,
        email_owner=s.email_owner,
        emails=list(s.emails),
        destination_ids=list(s.destination_ids),
    ).dump()


@bp.get("/v1/alert-settings")
@require_account
def get_alert_settings():
    reply = _usage().call("GetAlertSettings", pb.GetAlertSettingsRequest(account_id=g.account_id))
    return jsonify(settings=settings_json(reply.settings))


@bp.put("/v1/alert-settings")
@require_account
@body(AlertSettings)
def put_alert_settings(body: AlertSettings):
    request = pb.UpdateAlertSettingsRequest(
        account_id=g.account_id, settings=pb.AlertSettings(**body.model_dump())
    )
    return jsonify(settings=settings_json(_usage().call("UpdateAlertSettings", request).settings))


class ForecastQuery(_Strict):
    as_of: Day | None = Field(default=None, description="the last observed day (default: today, UTC)")


def _line(f: pb.ForecastLine) -> dict[str, Any]:
    return {
        "actual_usd": f.actual_usd,
        "projected_usd": f.projected_usd,
        "low_usd": f.low_usd,
        "high_usd": f.high_usd,
        "method": f.method,
    }


@bp.get("/v1/usage/forecast")
@require_account
@query(ForecastQuery)
def forecast(query: ForecastQuery):
    request = pb.GetForecastRequest(account_id=g.account_id, as_of=query.as_of or "")
    reply = _usage().call("GetForecast", request, timeout=60.0)
    answer = Forecast(
        currency="USD",
        period_start=reply.period_start,
        period_end=reply.period_end,
        as_of=reply.as_of,
        total=ForecastLine(**_line(reply.total)),
        platforms=[PlatformForecast(platform=p.platform, **_line(p)) for p in reply.platforms],
    )
    return jsonify(answer.dump())
