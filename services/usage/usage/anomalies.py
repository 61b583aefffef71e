"""Unusual spend on one day of one series (a model, a key): a spike over its own usual level, a
model that starts costing money, a key that spends again after weeks of silence. Pure and exact:
every figure is a Decimal; a missing date in a series means no spend.

A spike is judged against a baseline built only from the days before it (8 weeks at most): the
median of the last 14 days, scaled by the day's weekday factor (median of that weekday over the
median of all days), so a Monday-heavy series does not flag its Mondays, and medians keep earlier
spikes out of the baseline. The day must exceed the baseline by a ratio and by a number of the
series' own noise units (MAD of the days around their weekday's median), both set by the
sensitivity; and it must cost at least ``min_usd``, below which nobody is paged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from usage.forecast import median

SENSITIVITIES = ("low", "normal", "high")
DEFAULT_MIN_USD = Decimal("20")  # a day below this never pages anyone (per account setting may change it)
# sensitivity -> (minimum cost / baseline, minimum excess in noise units); each looser than the one before.
SPIKE_THRESHOLDS = {
    "low": (Decimal(3), Decimal(8)),
    "normal": (Decimal(2), Decimal(5)),
    "high": (Decimal("1.6"), Decimal(4)),
}
BASELINE_DAYS = 56
LEVEL_DAYS = 14
MIN_HISTORY_DAYS = 14
MIN_WEEKDAY_SAMPLES = 3
NEW_ACCOUNT_DAYS = 14  # nothing is "new" in an account's first two weeks: everything is
NEW_MODEL_RAMP_DAYS = 7  # a model that began with cents counts as new when it first costs min_usd
MAD_TO_SIGMA = Decimal("1.4826")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Anomaly:
    kind: str  # "spike" | "new_model" | "key_woke_up"
    subject: str  # stable series id used for dedup, e.g. "openai|gpt-4o" or "key:<credential_id>"
    label: str  # what people read, e.g. "openai gpt-4o"
    date: dt.date
    cost_usd: Decimal
    baseline_usd: Decimal | None
    ratio: Decimal | None  # cost / baseline, 1 decimal place
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "label": self.label,
            "date": self.date.isoformat(),
            "cost_usd": str(self.cost_usd),
            "baseline_usd": None if self.baseline_usd is None else str(self.baseline_usd),
            "ratio": None if self.ratio is None else str(self.ratio),
            "message": self.message,
        }


def money(amount: Decimal) -> str:
    """$1,234.56"""
    return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def detect_spike(
    label: str,
    subject: str,
    series: Mapping[dt.date, Decimal],
    day: dt.date,
    *,
    sensitivity: str = "normal",
    min_usd: Decimal = DEFAULT_MIN_USD,
) -> Anomaly | None:
    if sensitivity not in SPIKE_THRESHOLDS:
        raise ValueError(f"sensitivity must be one of {SENSITIVITIES}")
    cost = series.get(day, ZERO)
    if cost < min_usd or not series:
        return None
    first = max(min(series), day - dt.timedelta(days=BASELINE_DAYS))
    history = [first + dt.timedelta(days=i) for i in range((day - first).days)]
    if len(history) < MIN_HISTORY_DAYS:
        return None
    values = [series.get(d, ZERO) for d in history]
    by_weekday: list[list[Decimal]] = [[] for _ in range(7)]
    for d, v in zip(history, values, strict=True):
        by_weekday[d.weekday()].append(v)
    overall = median(values)
    usual = [median(v) if len(v) >= MIN_WEEKDAY_SAMPLES else overall for v in by_weekday]
    level = median(values[-LEVEL_DAYS:])
    factor = usual[day.weekday()] / overall if overall > 0 else Decimal(1)
    baseline = level * factor
    if baseline <= 0:
        # Usually nothing on this day: sporadic use is judged against its average instead.
        baseline = sum(values, ZERO) / len(values)
        if baseline <= 0:
            return None  # never spent: new_model / key_woke_up say that better
    noise = MAD_TO_SIGMA * median([abs(v - usual[d.weekday()]) for d, v in zip(history, values, strict=True)])
    min_ratio, min_sigmas = SPIKE_THRESHOLDS[sensitivity]
    if cost < baseline * min_ratio or cost - baseline < min_sigmas * noise:
        return None
    ratio = (cost / baseline).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    message = f"{label}: {money(cost)} on {day.isoformat()}, {ratio}× its usual {WEEKDAYS[day.weekday()]}"
    return Anomaly("spike", subject, label, day, cost, _cents(baseline), ratio, message)


def detect_new_model(
    label: str,
    subject: str,
    series: Mapping[dt.date, Decimal],
    day: dt.date,
    *,
    account_first_day: dt.date,
    min_usd: Decimal = DEFAULT_MIN_USD,
    quiet_days: int = 60,
) -> Anomaly | None:
    """A model that had no spend for quiet_days before it began (at most a week ago) and today
    costs min_usd for the first time since. Never in an account's first two weeks."""
    cost = series.get(day, ZERO)
    if cost < min_usd or (day - account_first_day).days < NEW_ACCOUNT_DAYS:
        return None
    began = day
    for back in range(1, quiet_days + 1):
        earlier = day - dt.timedelta(days=back)
        spent = series.get(earlier, ZERO)
        if spent <= 0:
            continue
        if back > NEW_MODEL_RAMP_DAYS or spent >= min_usd:
            return None  # in use before, or already reached min_usd (and was reported then)
        began = earlier
    if any(series.get(began - dt.timedelta(days=i), ZERO) > 0 for i in range(1, quiet_days + 1)):
        return None
    message = f"{label}: a model not used before now costs {money(cost)} on {day.isoformat()}"
    return Anomaly("new_model", subject, label, day, cost, None, None, message)


def detect_key_woke_up(
    label: str,
    subject: str,
    series: Mapping[dt.date, Decimal],
    day: dt.date,
    *,
    min_usd: Decimal = DEFAULT_MIN_USD,
    idle_days: int = 14,
    platform: str = "",
    created: dt.date | None = None,
) -> Anomaly | None:
    """A key with no spend for at least idle_days that spent min_usd today. label is the key's
    name; its silence is counted from its last spend, else from `created` (else from the series'
    first date, which a caller may store as a zero)."""
    cost = series.get(day, ZERO)
    if cost < min_usd:
        return None
    spent_before = [d for d, v in series.items() if d < day and v > 0]
    if spent_before:
        quiet_since = max(spent_before) + dt.timedelta(days=1)
    else:
        known = [d for d in series if d < day]
        starts = [d for d in (created, min(known, default=None)) if d is not None]
        if not starts:
            return None
        quiet_since = min(starts)
    idle = (day - quiet_since).days
    if idle < idle_days:
        return None
    name = f"Key '{label}' ({platform})" if platform else f"Key '{label}'"
    message = f"{name}: idle for {idle} days, spent {money(cost)} on {day.isoformat()}"
    return Anomaly("key_woke_up", subject, name, day, cost, None, None, message)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
