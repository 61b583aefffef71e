"""The answers of the billing endpoints (gateway.api.billing) as response models, and the
Stripe webhook's body as the document describes it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.answers import NOT_SET, Answer, Money, Sparse


class Plan(Answer):
    id: str = Field(examples=["professional"])
    name: str
    price_usd_month: Money = Field(description="USD per month, a decimal string")
    max_credentials: int | None = Field(description="null: unlimited")
    history_days: int = Field(description="How far back syncs reach")
    ai_parsing: bool
    csv_export: bool
    max_budgets: int | None = Field(description="null: unlimited")
    alert_channels: list[Literal["email", "webhook", "slack"]] = Field(description="Where alerts may go")
    anomaly_detection: bool
    features: list[str]


class Redirect(Sparse):
    url: str = Field(json_schema_extra={"format": "uri"})
    session_id: str = Field(default=NOT_SET, description="Checkout only")


class WebhookReceipt(Answer):
    received: bool
    result: Literal["applied", "ignored", "stale", "duplicate"]


class StripeEvent(BaseModel):
    """A Stripe event, passed on to auth byte for byte (never parsed by the gateway): any JSON
    object; the Stripe-Signature header over the raw body authenticates it."""

    model_config = ConfigDict(extra="allow")
