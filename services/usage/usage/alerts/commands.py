"""What the alert methods do, behind the servicer: budgets, destinations, history and settings
CRUD, with the account's plan checked here (the service that owns the action) and every change
audited."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from svccommon.audit import AuditLog
from svccommon.errors import FailedPrecondition, NotFound
from svccommon.plangate import require
from svccommon.plans import Plan

from usage import outbound, signing
from usage.alerts import spend
from usage.alerts.alertstore import AlertStore
from usage.alerts.budgets import BudgetSettings, crossed, field_error, percent_of
from usage.alerts.budgetstore import BudgetStore, settings_of
from usage.alerts.deliverystore import DeliveryStore
from usage.alerts.destinations import MAX_PER_ACCOUNT, check_destination
from usage.alerts.destinationstore import DestinationStore
from usage.alerts.messages import test_payloads
from usage.alerts.settings import AlertSettings
from usage.alerts.settingsstore import SettingsStore
from usage.clients.keyvault_sealing import DestinationSecrets
from usage.forecast import Forecast, forecast_period, projected_crossing
from usage.queries import UsageQueries
from usage.syncs import check_id

MAX_MUTE_DAYS = 90
MAX_PAGE = 100


@dataclass(frozen=True)
class BudgetStatus:
    period_start: dt.date
    period_end: dt.date
    spent_usd: Decimal
    forecast: Forecast | None
    percent_used: Decimal
    projected_crossing: dt.date | None
    crossed: list[int]


def _allows_channel(kind: str) -> Callable[[Plan], bool]:
    return lambda plan: kind in plan.alert_channels


class AlertCommands:
    def __init__(
        self,
        *,
        budgets: BudgetStore,
        destinations: DestinationStore,
        alerts: AlertStore,
        deliveries: DeliveryStore,
        settings: SettingsStore,
        secrets: DestinationSecrets,
        queries: UsageQueries,
        plan_of: Callable[[str], Plan],
        policy: outbound.OutboundPolicy,
        changed: Callable[[str], None],
        attempt_now: Callable[[dict[str, Any]], dict[str, Any]],
        owner: str,
        clock: Callable[[], dt.datetime],
        audit: AuditLog | None = None,
    ) -> None:
        self.budgets = budgets
        self.destinations = destinations
        self.alerts = alerts
        self.deliveries = deliveries
        self.settings = settings
        self.secrets = secrets
        self.queries = queries
        self.plan_of = plan_of
        self.policy = policy
        self.changed = changed  # evaluate the account soon (a new or changed budget)
        self.attempt_now = attempt_now
        self.owner = owner
        self.clock = clock
        self.audit = audit

    # --- budgets -------------------------------------------------------------------

    def create_budget(self, account_id: str, settings: BudgetSettings) -> dict[str, Any]:
        check_id(account_id, "account_id")
        plan = self.plan_of(account_id)
        held = self.budgets.count(account_id)
        require(
            plan,
            lambda p: p.max_budgets is None or held + 1 <= p.max_budgets,
            f"More than {plan.max_budgets} budget" + ("s" if (plan.max_budgets or 0) > 1 else ""),
        )
        self._check_recipients(account_id, plan, settings.destination_ids)
        doc = self.budgets.create(account_id, settings, self.clock())
        self._audit("budget.created", account_id, "budget", doc["_id"], _budget_details(settings))
        self.changed(account_id)
        return doc

    def update_budget(self, account_id: str, budget_id: str, settings: BudgetSettings) -> dict[str, Any]:
        check_id(account_id, "account_id")
        self._check_recipients(account_id, self.plan_of(account_id), settings.destination_ids)
        doc = self.budgets.update(account_id, budget_id, settings, self.clock())
        if doc is None:
            raise NotFound("budget not found")
        self._audit("budget.updated", account_id, "budget", budget_id, _budget_details(settings))
        self.changed(account_id)
        return doc

    def get_budget(self, account_id: str, budget_id: str) -> dict[str, Any]:
        doc = self.budgets.get(check_id(account_id, "account_id"), budget_id)
        if doc is None:
            raise NotFound("budget not found")
        return doc

    def list_budgets(self, account_id: str) -> list[dict[str, Any]]:
        return self.budgets.of_account(check_id(account_id, "account_id"))

    def delete_budget(self, account_id: str, budget_id: str) -> None:
        if not self.budgets.delete(check_id(account_id, "account_id"), budget_id):
            raise NotFound("budget not found")
        self.alerts.forget_budget(account_id, budget_id)
        self._audit("budget.deleted", account_id, "budget", budget_id, {})

    def status(self, account_id: str, doc: dict[str, Any]) -> BudgetStatus:
        s = settings_of(doc)
        today = self.clock().date()
        period = s.period_on(today)
        if period is None:  # a custom period not started yet, or over: show it as it stands
            first, last = s.start_date or today, s.end_date or today
            as_of = min(max(today, first), last)
        else:
            (first, last), as_of = period, today
        days = spend.daily(
            self.queries,
            account_id,
            min(first, as_of - dt.timedelta(days=spend.HISTORY_DAYS)),
            as_of,
            **s.filter_values(),
        )
        spent = sum((d.cost_usd for d in days if first <= d.date <= last), Decimal(0))
        forecast = forecast_period(days, as_of, first, last) if first <= as_of else None
        crossing = projected_crossing(days, as_of, s.amount_usd, first, last) if forecast else None
        return BudgetStatus(
            first,
            last,
            spent,
            forecast,
            percent_of(spent, s.amount_usd),
            crossing,
            crossed(spent, s.amount_usd, s.thresholds),
        )

    def _check_recipients(self, account_id: str, plan: Plan, destination_ids: tuple[str, ...]) -> None:
        if not destination_ids:
            return
        known = {d["_id"]: d["kind"] for d in self.destinations.of_account(account_id)}
        for destination_id in destination_ids:
            if destination_id not in known:
                raise field_error(
                    "destination_ids", f"names no destination of this account ({destination_id[:40]})"
                )
            kind = known[destination_id]
            require(plan, _allows_channel(kind), f"Alerts by {kind}")

    # --- destinations --------------------------------------------------------------

    def create_destination(
        self, account_id: str, kind: str, name: str, url: str
    ) -> tuple[dict[str, Any], str]:
        check_id(account_id, "account_id")
        plan = self.plan_of(account_id)
        require(
            plan, lambda p: kind in p.alert_channels or kind not in ("webhook", "slack"), f"Alerts by {kind}"
        )
        name, target = check_destination(kind, name, url, self.policy)
        if self.destinations.count(account_id) >= MAX_PER_ACCOUNT:
            raise FailedPrecondition(
                f"an account holds at most {MAX_PER_ACCOUNT} destinations; delete one first"
            )
        destination_id = uuid.uuid4().hex
        signing_secret = signing.new_secret() if kind == "webhook" else ""
        secret = {"url": url, **({"signing_secret": signing_secret} if signing_secret else {})}
        sealed = self.secrets.seal(account_id, destination_id, secret)
        doc = self.destinations.create(destination_id, account_id, kind, name, target, sealed, self.clock())
        self._audit(
            "alert_destination.created",
            account_id,
            "alert_destination",
            destination_id,
            {"kind": kind, "name": name, "target": target},
        )
        return doc, signing_secret

    def list_destinations(self, account_id: str) -> list[dict[str, Any]]:
        return self.destinations.of_account(check_id(account_id, "account_id"))

    def delete_destination(self, account_id: str, destination_id: str) -> None:
        check_id(account_id, "account_id")
        doc = self.destinations.get(account_id, destination_id)
        if doc is None or not self.destinations.delete(account_id, destination_id):
            raise NotFound("destination not found")
        self.budgets.drop_destination(account_id, destination_id)
        self.settings.drop_destination(account_id, destination_id)
        for alert in self.deliveries.drop_destination(account_id, destination_id, self.clock()):
            self.alerts.set_deliveries(account_id, alert, self.deliveries.state_of_alert(account_id, alert))
        self._audit(
            "alert_destination.deleted",
            account_id,
            "alert_destination",
            destination_id,
            {"kind": doc["kind"], "name": doc["name"]},
        )

    def test_destination(self, account_id: str, destination_id: str) -> dict[str, Any]:
        check_id(account_id, "account_id")
        doc = self.destinations.get(account_id, destination_id)
        if doc is None:
            raise NotFound("destination not found")
        plan = self.plan_of(account_id)
        require(plan, lambda p: doc["kind"] in p.alert_channels, f"Alerts by {doc['kind']}")
        now = self.clock()
        payload = test_payloads(doc["name"], now)[doc["kind"]]
        delivery = self.deliveries.add(account_id, "", doc["kind"], destination_id, payload, now)
        claimed = self.deliveries.claim_one(account_id, delivery["_id"], self.owner, now)
        self._audit("alert_destination.tested", account_id, "alert_destination", destination_id, {})
        return self.attempt_now(claimed) if claimed else delivery

    def list_deliveries(
        self, account_id: str, destination_id: str, limit: int, cursor: str
    ) -> tuple[list, str]:
        check_id(account_id, "account_id")
        if destination_id and self.destinations.get(account_id, destination_id) is None:
            raise NotFound("destination not found")
        return self.deliveries.page(account_id, destination_id, _page(limit), cursor)

    # --- alert history -------------------------------------------------------------

    def list_alerts(self, account_id: str, limit: int, cursor: str, unacknowledged: bool) -> tuple[list, str]:
        return self.alerts.page(check_id(account_id, "account_id"), _page(limit), cursor, unacknowledged)

    def acknowledge(self, account_id: str, alert_id: str) -> dict[str, Any]:
        doc = self.alerts.acknowledge(check_id(account_id, "account_id"), alert_id, self.clock())
        if doc is None:
            raise NotFound("alert not found")
        self._audit("alert.acknowledged", account_id, "alert", alert_id, {"title": doc["title"]})
        return doc

    def mute(self, account_id: str, alert_id: str, days: int) -> tuple[dict[str, Any], dt.datetime]:
        check_id(account_id, "account_id")
        if not 1 <= days <= MAX_MUTE_DAYS:
            raise field_error("days", f"must be between 1 and {MAX_MUTE_DAYS}")
        doc = self.alerts.get(account_id, alert_id)
        if doc is None:
            raise NotFound("alert not found")
        subject = f"budget:{doc['budget_id']}" if doc.get("budget_id") else doc["subject"]
        until = self.alerts.mute(account_id, subject, self.clock() + dt.timedelta(days=days))
        if doc.get("budget_id"):
            self.budgets.mute(account_id, doc["budget_id"], until)
        self._audit("alert.muted", account_id, "alert", alert_id, {"subject": subject, "days": days})
        return doc, until

    # --- settings ------------------------------------------------------------------

    def get_settings(self, account_id: str) -> AlertSettings:
        return self.settings.get(check_id(account_id, "account_id"))

    def update_settings(self, account_id: str, settings: AlertSettings) -> AlertSettings:
        check_id(account_id, "account_id")
        plan = self.plan_of(account_id)
        if settings.anomalies_enabled:
            require(plan, lambda p: p.anomaly_detection, "Anomaly detection")
        self._check_recipients(account_id, plan, settings.destination_ids)
        self.settings.put(account_id, settings, self.clock())
        self._audit(
            "alert_settings.updated",
            account_id,
            "alert_settings",
            account_id,
            {
                "anomalies_enabled": settings.anomalies_enabled,
                "sensitivity": settings.sensitivity,
                "min_usd": str(settings.min_usd),
                "destinations": len(settings.destination_ids),
            },
        )
        self.changed(account_id)
        return settings

    # --- forecast ------------------------------------------------------------------

    def forecast(self, account_id: str, as_of: dt.date | None) -> tuple[Forecast, dict[str, Forecast]]:
        check_id(account_id, "account_id")
        as_of = as_of or self.clock().date()
        first = as_of - dt.timedelta(days=spend.HISTORY_DAYS)
        total = forecast_period(spend.daily(self.queries, account_id, first, as_of), as_of)
        by_platform = spend.daily_by(self.queries, account_id, first, as_of, "platform")
        per_platform = {platform: forecast_period(days, as_of) for platform, days in by_platform.items()}
        return total, per_platform

    def _audit(self, action: str, account_id: str, target_type: str, target_id: str, details: dict) -> None:
        if self.audit is not None:
            self.audit.record(
                action, account_id=account_id, target_type=target_type, target_id=target_id, details=details
            )


def _page(limit: int) -> int:
    return MAX_PAGE if limit <= 0 else min(limit, MAX_PAGE)


def _budget_details(s: BudgetSettings) -> dict[str, Any]:
    return {
        "name": s.name,
        "amount_usd": str(s.amount_usd),
        "period": s.period,
        "scope": s.scope.kind,
        "thresholds": list(s.thresholds),
        "forecast_thresholds": list(s.forecast_thresholds),
        "recipients": int(s.email_owner) + len(s.emails) + len(s.destination_ids),
    }
