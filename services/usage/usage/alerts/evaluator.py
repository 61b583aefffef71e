"""Evaluating one account's alerts: budget thresholds on actual and projected spend, and
anomalies (Professional). Each alert is fired at most once (AlertStore.fire deduplicates), and
each fired alert gets one delivery per channel it goes to."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from svccommon.audit import AuditLog
from svccommon.errors import NotFound
from svccommon.plans import Plan

from usage import anomalies
from usage.alerts import messages, spend
from usage.alerts.alertstore import AlertStore, alert_id
from usage.alerts.budgets import BudgetSettings, crossed
from usage.alerts.budgetstore import BudgetStore, settings_of
from usage.alerts.deliverystore import DeliveryStore
from usage.alerts.destinationstore import DestinationStore
from usage.alerts.settings import AlertSettings
from usage.alerts.settingsstore import SettingsStore
from usage.forecast import forecast_period, projected_crossing
from usage.queries import UsageQueries

log = logging.getLogger(__name__)
ANOMALY_DAYS = 3  # today and the two days before: a late provider report still counts


@dataclass(frozen=True)
class Reach:
    """Where the account's alerts may go under its plan: email, and its destinations (id -> kind)
    of the kinds the plan allows. Read once per evaluation."""

    email: bool
    destinations: dict[str, str]

    @classmethod
    def of(cls, plan: Plan, destinations: list[dict[str, Any]]) -> Reach:
        allowed = plan.alert_channels
        return cls("email" in allowed, {d["_id"]: d["kind"] for d in destinations if d["kind"] in allowed})


class Evaluator:
    def __init__(
        self,
        *,
        budgets: BudgetStore,
        alerts: AlertStore,
        deliveries: DeliveryStore,
        destinations: DestinationStore,
        settings: SettingsStore,
        queries: UsageQueries,
        plan_of: Callable[[str], Plan],
        clock: Callable[[], dt.datetime],
        audit: AuditLog | None = None,
    ) -> None:
        self.budgets = budgets
        self.alerts = alerts
        self.deliveries = deliveries
        self.destinations = destinations
        self.settings = settings
        self.queries = queries
        self.plan_of = plan_of
        self.clock = clock
        self.audit = audit
        self._last_fired = dt.datetime.min.replace(tzinfo=dt.UTC)

    def evaluate(self, account_id: str) -> int:
        """Fire what is due for the account now; returns how many alerts fired."""
        now = self.clock()
        today = now.date()
        try:
            plan = self.plan_of(account_id)
        except NotFound:  # auth no longer has the account (an unverified one expired): nothing to do
            log.info("no alerts for an account auth does not know")
            return 0
        reach = Reach.of(plan, self.destinations.of_account(account_id))
        budgets = self.budgets.of_account(account_id)
        if plan.max_budgets is not None:
            budgets = budgets[: plan.max_budgets]  # after a downgrade the oldest keep working
        fired = sum(self._budget(account_id, doc, today, now, reach) for doc in budgets)
        settings = self.settings.get(account_id)
        if plan.anomaly_detection and settings.anomalies_enabled:
            fired += self._anomalies(account_id, settings, today, now, reach)
        return fired

    # --- budgets -------------------------------------------------------------------

    def _budget(
        self, account_id: str, doc: dict[str, Any], today: dt.date, now: dt.datetime, reach: Reach
    ) -> int:
        s = settings_of(doc)
        period = s.period_on(today)
        if period is None or self.alerts.muted_until(account_id, f"budget:{doc['_id']}", now):
            return 0
        first, last = period
        days = spend.daily(
            self.queries,
            account_id,
            min(first, today - dt.timedelta(days=spend.HISTORY_DAYS)),
            today,
            **s.filter_values(),
        )
        spent = sum((d.cost_usd for d in days if d.date >= first), Decimal(0))
        fired = 0
        for threshold in crossed(spent, s.amount_usd, s.thresholds):
            title, message = messages.threshold_alert(s, spent, threshold, first, last)
            key = alert_id(account_id, "budget", doc["_id"], first.isoformat(), str(threshold))
            fired += self._fire(
                account_id,
                key,
                "budget_threshold",
                title,
                message,
                spent,
                today,
                now,
                s,
                reach,
                budget_id=doc["_id"],
                threshold=threshold,
            )
        forecast = (
            forecast_period(days, today, first, last) if s.forecast_thresholds and today < last else None
        )
        # A run rate from a few days is no basis for a warning: forecast alerts wait for a week of spend.
        if forecast is not None and forecast.method == "seasonal":
            for threshold in s.forecast_thresholds:
                limit = s.amount_usd * threshold / 100
                if spent >= limit or forecast.projected_usd < limit:
                    continue  # already crossed (the actual alert says so) or not projected to
                crossing = projected_crossing(days, today, limit, first, last)
                title, message = messages.forecast_alert(
                    s, spent, forecast.projected_usd, threshold, crossing, first, last
                )
                key = alert_id(account_id, "forecast", doc["_id"], first.isoformat(), str(threshold))
                fired += self._fire(
                    account_id,
                    key,
                    "budget_forecast",
                    title,
                    message,
                    forecast.projected_usd,
                    today,
                    now,
                    s,
                    reach,
                    budget_id=doc["_id"],
                    threshold=threshold,
                )
        return fired

    # --- anomalies -----------------------------------------------------------------

    def _anomalies(
        self, account_id: str, settings: AlertSettings, today: dt.date, now: dt.datetime, reach: Reach
    ) -> int:
        first = today - dt.timedelta(days=spend.HISTORY_DAYS)
        found: list[anomalies.Anomaly] = []
        by_model = spend.series_by(self.queries, account_id, first, today, ["platform", "model"])
        account_first = min((min(s) for s in by_model.values() if s), default=today)
        for day in (today - dt.timedelta(days=n) for n in range(ANOMALY_DAYS)):
            for (platform, model), series in by_model.items():
                label, subject = f"{platform} {model}", f"{platform}|{model}"
                spike = anomalies.detect_spike(
                    label, subject, series, day, sensitivity=settings.sensitivity, min_usd=settings.min_usd
                )
                new = anomalies.detect_new_model(
                    label, subject, series, day, min_usd=settings.min_usd, account_first_day=account_first
                )
                found += [a for a in (spike, new) if a is not None]
        by_key = spend.series_by(self.queries, account_id, first, today, ["credential_id", "platform"])
        for (credential_id, platform), series in by_key.items():
            if not credential_id:
                continue  # billing files: no key to wake up
            label = f"…{credential_id[-6:]}"
            for day in (today - dt.timedelta(days=n) for n in range(ANOMALY_DAYS)):
                woke = anomalies.detect_key_woke_up(
                    label, f"key:{credential_id}", series, day, min_usd=settings.min_usd, platform=platform
                )
                if woke is not None:
                    found.append(woke)
        fired = 0
        for a in found:
            if self.alerts.muted_until(account_id, a.subject, now):
                continue
            key = alert_id(account_id, a.kind, a.subject, a.date.isoformat())
            title = {"spike": "Unusual spend", "new_model": "New model", "key_woke_up": "Idle key spending"}[
                a.kind
            ]
            fired += self._fire(
                account_id,
                key,
                a.kind,
                f"{title}: {a.label}",
                a.message,
                a.cost_usd,
                a.date,
                now,
                settings,
                reach,
                subject=a.subject,
            )
        return fired

    # --- firing --------------------------------------------------------------------

    def _fire(
        self,
        account_id: str,
        key: str,
        kind: str,
        title: str,
        message: str,
        amount: Decimal,
        day: dt.date,
        now: dt.datetime,
        recipients: BudgetSettings | AlertSettings,
        reach: Reach,
        *,
        budget_id: str = "",
        subject: str = "",
        threshold: int = 0,
    ) -> int:
        # Alerts fired in one pass get distinct, increasing times, so history lists them in the
        # order they were found (50% before 80%), newest first.
        now = self._last_fired = max(now, self._last_fired + dt.timedelta(milliseconds=1))
        alert = {
            "_id": key,
            "account_id": account_id,
            "kind": kind,
            "title": title,
            "message": message,
            "budget_id": budget_id,
            "subject": subject,
            "date": day.isoformat(),
            "threshold": threshold,
            "amount_usd": amount.quantize(Decimal("0.01")),
            "fired_at": now,
            "acknowledged_at": None,
            "deliveries": "pending",
        }
        if self.alerts.exists(account_id, key):
            return 0
        # Deliveries first, under ids derived from the alert: a crash before the alert is stored
        # leaves deliveries that the next evaluation finds again (no duplicate), never an alert
        # that nobody is told about.
        bodies = messages.payloads(alert)
        channels = 0
        if reach.email and (recipients.email_owner or recipients.emails):
            payload = {**bodies["email"], "to_owner": recipients.email_owner, "to": list(recipients.emails)}
            self.deliveries.add_for_alert(account_id, key, "email", "", payload, now)
            channels += 1
        for destination_id in recipients.destination_ids:
            if (channel := reach.destinations.get(destination_id)) is not None:
                self.deliveries.add_for_alert(account_id, key, channel, destination_id, bodies[channel], now)
                channels += 1
        if not self.alerts.fire({**alert, "deliveries": "pending" if channels else "none"}):
            return 0
        if channels:  # a delivery may have been sent before the alert was stored
            self.alerts.set_deliveries(account_id, key, self.deliveries.state_of_alert(account_id, key))
        if self.audit is not None:
            self.audit.record(
                "alert.fired",
                account_id=account_id,
                actor="usage",
                target_type="alert",
                target_id=key,
                details={"kind": kind, "title": title, "channels": channels},
                required=False,
            )
        log.info("alert fired", extra={"alert_kind": kind, "channels": channels})
        return 1
