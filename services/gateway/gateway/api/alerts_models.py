"""The answers of the budget, alert and forecast endpoints (gateway.api.alerts), as response
models. Request models keep their own names in gateway.api.alerts (AlertSettings is the PUT
body; StoredAlertSettings the answer)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.answers import NOT_SET, Answer, Day, Money, Sparse, Timestamp


class BudgetScope(Sparse):
    kind: Literal["account", "platform", "model", "credential"]
    # Present for the kinds that name one.
    platform: str = NOT_SET
    model: str = NOT_SET
    credential_id: str = NOT_SET


class BudgetStatus(Answer):
    period_start: Day
    period_end: Day
    spent_usd: Money
    projected_usd: Money | None
    projected_low_usd: Money | None
    projected_high_usd: Money | None
    percent_used: str = Field(description="spent / amount × 100, one decimal, rounded down")
    projected_crossing: Day | None = Field(
        description="the day the forecast reaches the amount (null: not this period)"
    )
    crossed: list[int] = Field(description="thresholds on actual spend crossed this period")


class Budget(Answer):
    id: str
    name: str
    amount_usd: Money
    period: Literal["monthly", "custom"]
    start_date: Day | None
    end_date: Day | None
    scope: BudgetScope
    thresholds: list[int]
    forecast_thresholds: list[int]
    email_owner: bool
    emails: list[str]
    destination_ids: list[str]
    status: BudgetStatus
    muted_until: Timestamp | None
    created_at: Timestamp | None
    updated_at: Timestamp | None


class AlertDestination(Answer):
    id: str
    kind: Literal["webhook", "slack"]
    name: str
    target: str = Field(description="scheme and host only (the URL is stored encrypted)")
    created_at: Timestamp | None
    last_status: Literal["delivered", "failing", "gave_up"] | None
    last_delivery_at: Timestamp | None


class NewDestinationAnswer(Answer):
    destination: AlertDestination
    signing_secret: str | None = Field(description="webhooks; shown once")


class DeliveryAttempt(Answer):
    at: Timestamp | None
    status_code: int | None = Field(description="null: no HTTP answer")
    error: str | None
    duration_ms: int


class AlertDelivery(Answer):
    id: str
    alert_id: str | None = Field(description="null for a test message")
    channel: Literal["email", "webhook", "slack"]
    destination_id: str | None
    status: Literal["pending", "delivered", "gave_up"]
    attempts: list[DeliveryAttempt] = Field(description="newest first")
    created_at: Timestamp | None
    next_attempt_at: Timestamp | None


class Alert(Answer):
    id: str
    kind: Literal["budget_threshold", "budget_forecast", "spike", "new_model", "key_woke_up"]
    title: str
    message: str = Field(description="one sentence: what crossed or what is unusual")
    budget_id: str | None
    subject: str | None = Field(description="anomalies: the series, e.g. openai|gpt-4o")
    date: Day
    threshold: int | None
    amount_usd: Money
    fired_at: Timestamp | None
    acknowledged_at: Timestamp | None
    deliveries: Literal["pending", "delivered", "failing", "none"]


class MutedAlert(Answer):
    alert: Alert
    muted_until: Timestamp | None


class StoredAlertSettings(Answer):
    anomalies_enabled: bool
    sensitivity: Literal["low", "normal", "high"]
    min_usd: Money
    email_owner: bool
    emails: list[str]
    destination_ids: list[str]


class ForecastLine(Answer):
    actual_usd: Money
    projected_usd: Money
    low_usd: Money
    high_usd: Money
    method: Literal["seasonal", "run_rate", "complete"]


class _OnePlatform(Answer):
    platform: str


class PlatformForecast(ForecastLine, _OnePlatform):
    """A platform's line: its id, then the line."""


class Forecast(Answer):
    currency: Literal["USD"]
    period_start: Day
    period_end: Day
    as_of: Day
    total: ForecastLine
    platforms: list[PlatformForecast]
