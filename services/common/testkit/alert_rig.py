"""The usage service's alert machinery assembled in process for service-level tests: real stores on
the test database, the harness clock, and small stand-ins for the two other services it talks to
(keyvault seals destination secrets, auth sends alert emails)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from svccommon.audit import AuditLog
from svccommon.plans import FREE, PROFESSIONAL, Plan
from usage import outbound
from usage.alerts.alertstore import AlertStore
from usage.alerts.budgets import BudgetSettings, Scope, check_settings
from usage.alerts.budgetstore import BudgetStore
from usage.alerts.commands import AlertCommands
from usage.alerts.deliverystore import DeliveryStore
from usage.alerts.destinationstore import DestinationStore
from usage.alerts.dispatcher import Dispatcher
from usage.alerts.evalqueue import EvaluationQueue
from usage.alerts.evaluator import Evaluator
from usage.alerts.sender import Sender
from usage.alerts.settingsstore import SettingsStore
from usage.clients.auth_mail import AlertMailError
from usage.records import UsageRecord

CRED_A, CRED_B = "a" * 32, "b" * 32
_MASK = 0x5A


class SealedInMemory:
    """DestinationSecrets' seal/open without keyvault. The sealed bytes are the bound plaintext
    reversed and xor-ed, so they never contain the URL or the secret as written, and they open
    only for the account and destination they were sealed for (as keyvault's are)."""

    def __init__(self) -> None:
        self.opened = 0

    def seal(self, account_id: str, destination_id: str, secret: dict[str, str]) -> bytes:
        bound = f"{account_id}|{destination_id}|{json.dumps(secret)}".encode()
        return bytes(b ^ _MASK for b in reversed(bound))

    def open(self, account_id: str, destination_id: str, sealed: bytes) -> tuple[dict[str, str], bool]:
        bound = bytes(b ^ _MASK for b in reversed(sealed)).decode()
        prefix = f"{account_id}|{destination_id}|"
        if not bound.startswith(prefix):
            raise ValueError("sealed for another destination")
        self.opened += 1
        return json.loads(bound[len(prefix) :]), False


@dataclass(frozen=True)
class MailCall:
    account_id: str
    to_owner: bool
    to: tuple[str, ...]
    subject: str
    text: str
    key: str


@dataclass
class RecordingMailer:
    """AlertMailer that records every call; set `failure` to make calls raise it."""

    calls: list[MailCall] = field(default_factory=list)
    failure: AlertMailError | None = None

    def send(
        self, account_id: str, *, to_owner: bool, to: Sequence[str], subject: str, text: str, key: str
    ) -> list[str]:
        self.calls.append(MailCall(account_id, to_owner, tuple(to), subject, text, key))
        if self.failure is not None:
            raise self.failure
        return [*(["owner@example.org"] if to_owner else []), *to]


class AlertRig:
    """Everything the alert loop needs, built on a service-test Harness (db, clock, queries)."""

    def __init__(self, harness: Any, policy: outbound.OutboundPolicy | None = None) -> None:
        self.h = harness
        self.db = harness.db
        self.clock = harness.clock
        self.account: str = harness.account
        self.budgets, self.alerts = BudgetStore(self.db), AlertStore(self.db)
        self.deliveries, self.destinations = DeliveryStore(self.db), DestinationStore(self.db)
        self.settings, self.queue = SettingsStore(self.db), EvaluationQueue(self.db)
        for store in (
            self.budgets,
            self.alerts,
            self.deliveries,
            self.destinations,
            self.settings,
            self.queue,
        ):
            store.ensure_indexes()
        self.policy = policy or outbound.OutboundPolicy(allow_local_http=True)
        self.secrets = SealedInMemory()
        self.mailer = RecordingMailer()
        self.audit = AuditLog(self.db, "usage")
        self.plans: dict[str, Plan] = {}

    def plan_of(self, account_id: str) -> Plan:
        return self.plans.get(account_id, FREE)

    def professional(self, account_id: str = "") -> None:
        self.plans[account_id or self.account] = PROFESSIONAL

    def free(self, account_id: str = "") -> None:
        self.plans[account_id or self.account] = FREE

    # --- parts -------------------------------------------------------------------

    def evaluator(self, alerts: AlertStore | None = None) -> Evaluator:
        return Evaluator(
            budgets=self.budgets,
            alerts=alerts or self.alerts,
            deliveries=self.deliveries,
            destinations=self.destinations,
            settings=self.settings,
            queries=self.h.queries,
            plan_of=self.plan_of,
            clock=self.clock,
            audit=self.audit,
        )

    def dispatcher(self, evaluator: Any = None, policy: outbound.OutboundPolicy | None = None) -> Dispatcher:
        """A new "replica": its own owner id, the same database and clock."""
        return Dispatcher(
            queue=self.queue,
            evaluator=evaluator or self.evaluator(),
            deliveries=self.deliveries,
            alerts=self.alerts,
            destinations=self.destinations,
            budgets=self.budgets,
            settings=self.settings,
            sender=Sender(self.mailer, self.secrets, self.destinations, policy or self.policy, self.clock),  # type: ignore[arg-type]
            clock=self.clock,
            audit=self.audit,
        )

    def commands(self, dispatcher: Dispatcher | None = None) -> AlertCommands:
        dispatcher = dispatcher or self.dispatcher()
        return AlertCommands(
            budgets=self.budgets,
            destinations=self.destinations,
            alerts=self.alerts,
            deliveries=self.deliveries,
            settings=self.settings,
            secrets=self.secrets,  # type: ignore[arg-type]
            queries=self.h.queries,
            plan_of=self.plan_of,
            policy=self.policy,
            changed=dispatcher.changed,
            attempt_now=lambda delivery: dispatcher.attempt(delivery, retry=False),  # as server.py wires it
            owner=dispatcher.owner,
            clock=self.clock,
            audit=self.audit,
        )

    # --- data --------------------------------------------------------------------

    def spend(
        self, day: dt.date, costs: dict[str, str], platform: str = "openai", credential: str = CRED_A
    ) -> None:
        """Make the stored day of (credential, platform) these model costs, as a sync does."""
        rows = [
            UsageRecord(platform, day, model, "api", cost_usd=Decimal(cost), units={"requests": 1})
            for model, cost in costs.items()
        ]
        self.h.records.replace_day(self.account, credential, platform, day, rows, "run", self.clock())

    def steady(self, first: int, last: int, cost: str, model: str = "gpt-4o", **kw: Any) -> None:
        """The same cost every day from `first` days ago to `last` days ago (inclusive)."""
        for back in range(first, last - 1, -1):
            self.spend(self.h.day(back), {model: cost}, **kw)

    def budget(self, amount: str = "100", **overrides: Any) -> dict[str, Any]:
        """A budget stored directly (no plan check), created now."""
        return self.budgets.create(self.account, settings(amount, **overrides), self.clock())

    def alert_docs(self, **query: Any) -> list[dict[str, Any]]:
        return list(self.alerts.alerts.find({"account_id": self.account, **query}).sort("fired_at", 1))

    def delivery_docs(self, **query: Any) -> list[dict[str, Any]]:
        return list(self.deliveries.deliveries.find({"account_id": self.account, **query}))

    def audit_events(self, **query: Any) -> list[dict[str, Any]]:
        assert self.audit.flush()
        return list(self.db["audit_events"].find(query).sort("at", 1))


def settings(amount: str = "100", **overrides: Any) -> BudgetSettings:
    """Budget settings through the same checks a request goes through."""
    values: dict[str, Any] = {
        "name": "Team",
        "amount_usd": amount,
        "period": "monthly",
        "start_date": "",
        "end_date": "",
        "scope": Scope(),
        "thresholds": [50, 80, 100],
        "forecast_thresholds": [],
        "email_owner": True,
        "emails": [],
        "destination_ids": [],
    }
    values.update(overrides)
    return check_settings(**values)


def drain(*dispatchers: Dispatcher, rounds: int = 50) -> None:
    """Let the replicas take turns until none has work left (bounded: a loop is a bug). When all
    are idle the clock moves one second once more: alerts fired in one pass get times a millisecond
    apart, so their deliveries come due a moment later, as they would with a clock that runs."""
    settled = False
    for _ in range(rounds):
        if any([d.pass_once() for d in dispatchers]):
            settled = False
            continue
        if settled:
            return
        dispatchers[0].clock.advance(seconds=1)  # type: ignore[attr-defined]  (the harness Clock)
        settled = True
    raise AssertionError(f"dispatchers still busy after {rounds} rounds")
