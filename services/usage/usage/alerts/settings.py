"""An account's anomaly detection settings (Professional): on or off, sensitivity, the smallest
day worth an alert, and who is told. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from usage.alerts.budgets import check_destination_ids, check_emails, field_error

SENSITIVITIES = ("low", "normal", "high")
DEFAULT_MIN_USD = Decimal("20")


@dataclass(frozen=True)
class AlertSettings:
    anomalies_enabled: bool = False
    sensitivity: str = "normal"
    min_usd: Decimal = DEFAULT_MIN_USD
    email_owner: bool = True
    emails: tuple[str, ...] = ()
    destination_ids: tuple[str, ...] = ()


def check_alert_settings(
    *,
    anomalies_enabled: bool,
    sensitivity: str,
    min_usd: str,
    email_owner: bool,
    emails: Sequence[str],
    destination_ids: Sequence[str],
) -> AlertSettings:
    sensitivity = sensitivity or "normal"
    if sensitivity not in SENSITIVITIES:
        raise field_error("sensitivity", "must be low, normal or high")
    try:
        minimum = Decimal(min_usd.strip()) if (min_usd or "").strip() else DEFAULT_MIN_USD
    except InvalidOperation:
        raise field_error("min_usd", "must be a decimal number of US dollars") from None
    if not minimum.is_finite() or minimum < 0 or minimum > 1_000_000:
        raise field_error("min_usd", "must be between 0 and 1000000")
    settings = AlertSettings(
        anomalies_enabled=anomalies_enabled,
        sensitivity=sensitivity,
        min_usd=minimum.quantize(Decimal("0.01")),
        email_owner=email_owner,
        emails=check_emails(emails),
        destination_ids=check_destination_ids(destination_ids),
    )
    if anomalies_enabled and not (settings.email_owner or settings.emails or settings.destination_ids):
        raise field_error(
            "email_owner", "anomaly alerts need someone to tell: your email, other emails or a destination"
        )
    return settings
