"""What a budget is: validated settings, the period it covers on a given day, and the spend filter
its scope means. Pure: no gRPC, no MongoDB."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from svccommon.errors import InvalidField
from svccommon.shapes import EMAIL_PATTERN

SCOPE_KINDS = ("account", "platform", "model", "credential")
PERIODS = ("monthly", "custom")
DEFAULT_THRESHOLDS = (50, 80, 100)
MAX_THRESHOLDS = 10
MAX_EMAILS = 10
MAX_DESTINATIONS = 10
MAX_AMOUNT = Decimal("1000000000")
MAX_CUSTOM_DAYS = 366
_EMAIL = re.compile(EMAIL_PATTERN)
_NAME_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_CREDENTIAL_ID = re.compile(r"^[0-9a-f]{32}$")


def field_error(name: str, message: str) -> InvalidField:
    """A refusal naming its field ("amount_usd must be more than 0"): the gateway lists it in the
    problem's errors[] under that field."""
    return InvalidField(name, f"{name} {message}")


@dataclass(frozen=True)
class Scope:
    kind: str = "account"
    platform: str = ""
    model: str = ""
    credential_id: str = ""

    def describe(self, key_names: dict[str, str] | None = None) -> str:
        if self.kind == "platform":
            return self.platform
        if self.kind == "model":
            return f"{self.platform} {self.model}"
        if self.kind == "credential":
            name = (key_names or {}).get(self.credential_id)
            return f"key {name!r}" if name else f"key …{self.credential_id[-6:]}"
        return "all spend"


@dataclass(frozen=True)
class BudgetSettings:
    name: str
    amount_usd: Decimal
    period: str = "monthly"
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    scope: Scope = field(default_factory=Scope)
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    forecast_thresholds: tuple[int, ...] = ()
    email_owner: bool = True
    emails: tuple[str, ...] = ()
    destination_ids: tuple[str, ...] = ()

    def period_on(self, day: dt.date) -> tuple[dt.date, dt.date] | None:
        """The period that contains `day` (monthly: its calendar month); None when a custom
        period has not started or is over."""
        if self.period == "custom":
            assert self.start_date and self.end_date
            return (self.start_date, self.end_date) if self.start_date <= day <= self.end_date else None
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)

    def filter_values(self) -> dict[str, tuple[str, ...]]:
        """The record filter its scope means (names as in RecordFilter)."""
        s = self.scope
        return {
            "platforms": (s.platform,) if s.kind in ("platform", "model") else (),
            "models": (s.model,) if s.kind == "model" else (),
            "credentials": (s.credential_id,) if s.kind == "credential" else (),
        }

    def has_recipients(self) -> bool:
        return self.email_owner or bool(self.emails) or bool(self.destination_ids)


def parse_amount(text: str, name: str = "amount_usd") -> Decimal:
    try:
        amount = Decimal((text or "").strip())
    except InvalidOperation:
        raise field_error(name, 'must be a decimal number of US dollars, e.g. "100.00"') from None
    if not amount.is_finite() or amount <= 0:
        raise field_error(name, "must be more than 0")
    if amount > MAX_AMOUNT:
        raise field_error(name, f"must be at most {MAX_AMOUNT}")
    exponent = amount.as_tuple().exponent  # an int: the amount is finite here
    if isinstance(exponent, int) and exponent < -2:
        raise field_error(name, "has at most 2 decimal places (cents)")
    return amount


def check_name(text: str) -> str:
    name = (text or "").strip()
    if not name:
        raise field_error("name", "is required")
    if len(name) > 100 or _NAME_BAD.search(name):
        raise field_error("name", "must be at most 100 characters, without control characters or line breaks")
    return name


def check_percents(values: Sequence[int], name: str) -> tuple[int, ...]:
    if len(values) > MAX_THRESHOLDS:
        raise field_error(name, f"at most {MAX_THRESHOLDS} thresholds")
    for v in values:
        if not 1 <= v <= 1000:
            raise field_error(name, "each threshold is a percent of the amount between 1 and 1000")
    return tuple(sorted(set(values)))


def check_emails(values: Sequence[str]) -> tuple[str, ...]:
    """Addresses as auth will accept them when it sends (the same validator, email-validator),
    so a budget never holds an address that would fail its alert email later."""
    if len(values) > MAX_EMAILS:
        raise field_error("emails", f"at most {MAX_EMAILS} addresses")
    cleaned: list[str] = []
    for value in values:
        address = (value or "").strip()
        try:
            if len(address) > 254 or not _EMAIL.match(address):
                raise EmailNotValidError("not an email address")
            normalized = validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError:
            raise field_error("emails", f"{address[:60]!r} is not an email address") from None
        if normalized.lower() not in (c.lower() for c in cleaned):
            cleaned.append(normalized)
    return tuple(cleaned)


def check_destination_ids(values: Sequence[str]) -> tuple[str, ...]:
    if len(values) > MAX_DESTINATIONS:
        raise field_error("destination_ids", f"at most {MAX_DESTINATIONS} destinations")
    for v in values:
        if not _ID.match(v or ""):
            raise field_error("destination_ids", "names a destination that does not exist")
    return tuple(dict.fromkeys(values))


def _day(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise field_error(name, "must be a day, YYYY-MM-DD") from None


def check_scope(
    kind: str, platform: str, model: str, credential_id: str, known_platforms: Sequence[str]
) -> Scope:
    kind = kind or "account"
    if kind not in SCOPE_KINDS:
        raise field_error("scope.kind", f"must be one of {', '.join(SCOPE_KINDS)}")
    if kind in ("platform", "model") and platform not in known_platforms:
        raise field_error("scope.platform", "must be a platform id from GET /v1/platforms")
    if kind == "model" and (not 0 < len(model) <= 200 or _NAME_BAD.search(model)):
        raise field_error("scope.model", "is required for a model budget (at most 200 characters)")
    if kind == "credential" and not _CREDENTIAL_ID.match(credential_id or ""):
        raise field_error("scope.credential_id", "must be the id of one of your provider keys")
    return Scope(
        kind,
        platform if kind in ("platform", "model") else "",
        model if kind == "model" else "",
        credential_id if kind == "credential" else "",
    )


def check_settings(
    *,
    name: str,
    amount_usd: str,
    period: str,
    start_date: str,
    end_date: str,
    scope: Scope,
    thresholds: Sequence[int],
    forecast_thresholds: Sequence[int],
    email_owner: bool,
    emails: Sequence[str],
    destination_ids: Sequence[str],
) -> BudgetSettings:
    period = period or "monthly"
    if period not in PERIODS:
        raise field_error("period", "must be monthly or custom")
    first = last = None
    if period == "custom":
        first, last = _day(start_date, "start_date"), _day(end_date, "end_date")
        if last < first:
            raise field_error("end_date", "must not be before start_date")
        if (last - first).days + 1 > MAX_CUSTOM_DAYS:
            raise field_error("end_date", f"a custom period is at most {MAX_CUSTOM_DAYS} days")
    elif start_date or end_date:
        raise field_error("start_date", "only a custom period takes start_date and end_date")
    settings = BudgetSettings(
        name=check_name(name),
        amount_usd=parse_amount(amount_usd),
        period=period,
        start_date=first,
        end_date=last,
        scope=scope,
        thresholds=check_percents(thresholds, "thresholds"),
        forecast_thresholds=check_percents(forecast_thresholds, "forecast_thresholds"),
        email_owner=email_owner,
        emails=check_emails(emails),
        destination_ids=check_destination_ids(destination_ids),
    )
    if not settings.thresholds and not settings.forecast_thresholds:
        raise field_error("thresholds", "a budget needs at least one threshold")
    if not settings.has_recipients():
        raise field_error(
            "email_owner", "a budget needs someone to tell: your email, other emails or a destination"
        )
    return settings


def percent_of(spent: Decimal, amount: Decimal) -> Decimal:
    """One decimal, rounded down: 79.99 % shows as 79.9, never as an 80 % not yet reached."""
    return (spent * 100 / amount).quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def crossed(spent: Decimal, amount: Decimal, thresholds: Sequence[int]) -> list[int]:
    """Thresholds (percent of amount) that spend has reached: exact, no rounding."""
    return [t for t in thresholds if spent * 100 >= amount * t]
