"""The alert loop inside the usage service: evaluate accounts marked due (after a sync or an
import that changed data, and once a day), then send due deliveries, retrying failures with
exponential backoff for 24 h. Any replica may run it: evaluations and deliveries are claimed
with leases, and alerts are deduplicated when they are stored."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from svccommon.audit import AuditLog

from usage.alerts.alertstore import AlertStore
from usage.alerts.budgetstore import BudgetStore
from usage.alerts.deliverystore import DeliveryStore
from usage.alerts.destinationstore import DestinationStore
from usage.alerts.evalqueue import EvaluationQueue
from usage.alerts.evaluator import Evaluator
from usage.alerts.sender import Result, Sender
from usage.alerts.settingsstore import SettingsStore
from usage.backoff import next_attempt

log = logging.getLogger(__name__)
TICK_S = 1.0
DAILY_CHECK = dt.timedelta(minutes=10)
EVALUATION_RETRY = dt.timedelta(seconds=30)


class Dispatcher:
    def __init__(
        self,
        *,
        queue: EvaluationQueue,
        evaluator: Evaluator,
        deliveries: DeliveryStore,
        alerts: AlertStore,
        destinations: DestinationStore,
        budgets: BudgetStore,
        settings: SettingsStore,
        sender: Sender,
        clock: Callable[[], dt.datetime],
        audit: AuditLog | None = None,
    ) -> None:
        self.queue = queue
        self.evaluator = evaluator
        self.deliveries = deliveries
        self.alerts = alerts
        self.destinations = destinations
        self.budgets = budgets
        self.settings = settings
        self.sender = sender
        self.clock = clock
        self.audit = audit
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake_evaluations = threading.Event()
        self._wake_deliveries = threading.Event()
        self._threads: list[threading.Thread] = []
        self._daily_checked: dt.datetime | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        # Two loops: a slow receiver holds up only other deliveries (each attempt has a hard
        # deadline, outbound.OutboundPolicy.attempt_s), never the evaluation of any account.
        loops = (
            ("alert-evaluations", self.evaluate_once, self._wake_evaluations),
            ("alert-deliveries", self.deliver_once, self._wake_deliveries),
        )
        for name, work, wake in loops:
            thread = threading.Thread(target=self._loop, args=(work, wake), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake_evaluations.set()
        self._wake_deliveries.set()
        for thread in self._threads:
            thread.join(timeout_s / len(self._threads))

    def changed(self, account_id: str) -> None:
        """The account's spend changed: evaluate it soon (durably marked first)."""
        self.queue.mark_due(account_id, self.clock())
        self._wake_evaluations.set()

    def _loop(self, work: Callable[[], bool], wake: threading.Event) -> None:
        while not self._stop.is_set():
            try:
                busy = work()
            except Exception as exc:  # the database is away: wait, then try again
                log.error("alert pass failed", extra={"error_type": type(exc).__name__})
                busy = False
            if not busy:
                wake.wait(TICK_S)
                wake.clear()

    def pass_once(self) -> bool:
        """One evaluation and one delivery (tests drive the loops' work with this)."""
        return self.evaluate_once() | self.deliver_once()

    def evaluate_once(self) -> bool:
        """Evaluate one due account (and queue the daily pass when due); True if there was one."""
        now = self.clock()
        if self._daily_checked is None or now - self._daily_checked >= DAILY_CHECK:
            self._daily(now)
            self._daily_checked = now
        claimed = self.queue.claim(self.owner, now)
        if claimed is None:
            return False
        try:
            fired = self.evaluator.evaluate(claimed["_id"])
            self.queue.done(claimed, self.clock())
        except Exception as exc:
            log.error("alert evaluation failed", extra={"error_type": type(exc).__name__})
            self.queue.release(claimed, self.clock() + EVALUATION_RETRY)
            return True
        if fired:
            self._wake_deliveries.set()
        return True

    def deliver_once(self) -> bool:
        """Attempt one due delivery; True if there was one."""
        delivery = self.deliveries.claim(self.owner, self.clock())
        if delivery is None:
            return False
        self.attempt(delivery)
        return True

    def _daily(self, now: dt.datetime) -> None:
        accounts = set(self.budgets.accounts()) | set(self.settings.enabled_accounts())
        marked = sum(self.queue.mark_daily(a, now.date(), now) for a in accounts)
        if marked:
            log.info("daily alert evaluation queued", extra={"accounts": marked})

    # --- deliveries ----------------------------------------------------------------

    def attempt(self, delivery: dict[str, Any], *, retry: bool = True) -> dict[str, Any]:
        """Send a claimed delivery once and record the attempt; returns the updated delivery. A
        failure is retried with backoff for 24 h, unless `retry` is off (a test message)."""
        result = self.sender.send(delivery)
        now = self.clock()
        first = delivery["attempts"][0]["at"] if delivery["attempts"] else now
        first = first if first.tzinfo else first.replace(tzinfo=dt.UTC)
        retry_at = (
            next_attempt(first, len(delivery["attempts"]) + 1, now)
            if retry and result.retryable and not result.ok
            else None
        )
        status = "delivered" if result.ok else ("pending" if retry_at else "gave_up")
        attempt = {
            "at": now,
            "status_code": result.status_code,
            "error": result.error,
            "duration_ms": result.duration_ms,
        }
        updated = self.deliveries.finish_attempt(delivery["_id"], self.owner, attempt, status, retry_at)
        self._after(delivery, status, result, now)
        return updated or {**delivery, "status": status, "attempts": [*delivery["attempts"], attempt]}

    def _after(self, delivery: dict[str, Any], status: str, result: Result, now: dt.datetime) -> None:
        if delivery["destination_id"]:
            note = {"delivered": "delivered", "pending": "failing", "gave_up": "gave_up"}[status]
            self.destinations.note_delivery(delivery["account_id"], delivery["destination_id"], note, now)
        if delivery["alert_id"]:
            account_id, alert = delivery["account_id"], delivery["alert_id"]
            self.alerts.set_deliveries(account_id, alert, self.deliveries.state_of_alert(account_id, alert))
        if status == "pending":
            log.warning("alert delivery will be retried", extra={"channel": delivery["channel"]})
            return
        if self.audit is not None:
            self.audit.record(
                "alert.delivered" if status == "delivered" else "alert.delivery_failed",
                outcome="success" if status == "delivered" else "failure",
                account_id=delivery["account_id"],
                actor="usage",
                target_type="alert_delivery",
                target_id=delivery["_id"],
                details={
                    "alert_id": delivery["alert_id"] or None,
                    "channel": delivery["channel"],
                    "destination_id": delivery["destination_id"] or None,
                    "status_code": result.status_code,
                    "error": result.error or None,
                    "attempts": len(delivery["attempts"]) + 1,
                },
                required=False,
            )
