"""The plans AICosts sells, in one place: pure data and small helpers. Every service that gates
an action reads its limits from here; the Stripe price of a paid plan is configuration (auth's
STRIPE_PRICE_<PLAN>), never data in this file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

DEFAULT_PLAN = "free"


class UnknownPlan(KeyError):
    def __init__(self, plan_id: str) -> None:
        super().__init__(plan_id)
        self.plan_id = plan_id

    def __str__(self) -> str:
        shown = self.plan_id if len(self.plan_id) <= 40 and self.plan_id.isprintable() else "that"
        return f"unknown plan {shown!r}; the plans are {', '.join(PLANS)}"


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    price_usd_month: Decimal
    max_credentials: int | None  # provider keys an account may hold (None: no limit)
    history_days: int  # how far back a sync may reach, counting today
    ai_parsing: bool  # OpenAI extraction of billing files no deterministic parser reads
    csv_export: bool
    max_budgets: int | None  # budgets an account may hold (None: no limit)
    alert_channels: tuple[str, ...]  # where alerts may go: "email", "webhook", "slack"
    anomaly_detection: bool
    features: tuple[str, ...]  # what the pricing page lists, in words

    @property
    def paid(self) -> bool:
        return self.price_usd_month > 0

    def allows_credentials(self, count: int) -> bool:
        return self.max_credentials is None or count <= self.max_credentials

    def to_dict(self) -> dict[str, object]:
        """The public view (GET /v1/billing/plans): money as a decimal string."""
        return {
            "id": self.id,
            "name": self.name,
            "price_usd_month": str(self.price_usd_month),
            "max_credentials": self.max_credentials,
            "history_days": self.history_days,
            "ai_parsing": self.ai_parsing,
            "csv_export": self.csv_export,
            "max_budgets": self.max_budgets,
            "alert_channels": list(self.alert_channels),
            "anomaly_detection": self.anomaly_detection,
            "features": list(self.features),
        }


FREE = Plan(
    id="free",
    name="Free",
    price_usd_month=Decimal("0"),
    max_credentials=3,
    history_days=90,
    ai_parsing=False,
    csv_export=False,
    max_budgets=1,
    alert_channels=("email",),
    anomaly_detection=False,
    features=(
        "Up to 3 provider keys",
        "90 days of usage history",
        "Billing files in known formats (OpenAI and Anthropic exports, tables with date and cost)",
        "One budget with email alerts",
    ),
)
PROFESSIONAL = Plan(
    id="professional",
    name="Professional",
    price_usd_month=Decimal("49.00"),
    max_credentials=None,
    history_days=365,
    ai_parsing=True,
    csv_export=True,
    max_budgets=None,
    alert_channels=("email", "webhook", "slack"),
    anomaly_detection=True,
    features=(
        "Unlimited provider keys",
        "365 days of usage history",
        "AI parsing of any billing file (PDF invoices, other layouts)",
        "CSV export",
        "Any number of budgets; alerts by email, signed webhooks and Slack",
        "Anomaly detection and month-end forecasts per budget",
    ),
)
# Cheapest first: "the plan that allows X" is the first one that does.
PLANS: dict[str, Plan] = {p.id: p for p in (FREE, PROFESSIONAL)}


def get_plan(plan_id: str) -> Plan:
    try:
        return PLANS[plan_id]
    except KeyError:
        raise UnknownPlan(plan_id) from None


def effective_plan(plan_id: str | None) -> Plan:
    """The plan an account is on: an empty or unknown id (old data) means the default plan."""
    return PLANS.get(plan_id or "", PLANS[DEFAULT_PLAN])


def cheapest_plan(allows: Callable[[Plan], bool]) -> Plan | None:
    """The cheapest plan that allows something (None: no plan does)."""
    return next((p for p in PLANS.values() if allows(p)), None)


def required_message(current: Plan, needed: Plan, what: str) -> str:
    """`what` completes "... is part of the <plan> plan", e.g. "CSV export"."""
    return (
        f"{what} is part of the {needed.name} plan (this account is on the {current.name} plan); "
        f"upgrade to {needed.name} with POST /v1/billing/checkout"
    )
