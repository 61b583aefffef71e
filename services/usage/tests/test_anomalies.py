"""Anomalies on hand-built series: a spike against its own weekday-aware, spike-proof baseline and
the minimum that pages anyone; a model that starts costing money; a key that spends after weeks of
silence; exact messages; and sensitivities that nest (high finds all that normal finds, and more)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from usage.anomalies import (
    SENSITIVITIES,
    Anomaly,
    detect_key_woke_up,
    detect_new_model,
    detect_spike,
    money,
)

MONDAY = dt.date(2026, 11, 30)


def days_before(day: dt.date, count: int, cost) -> dict[dt.date, Decimal]:
    """count days ending the day before `day`; cost(date) gives each Decimal."""
    dates = [day - dt.timedelta(days=i) for i in range(count, 0, -1)]
    return {d: cost(d) for d in dates}


def flat(day: dt.date, amount: str = "100", count: int = 56) -> dict[dt.date, Decimal]:
    return days_before(day, count, lambda _d: Decimal(amount))


def test_spike_is_found_with_an_exact_message() -> None:
    series = flat(MONDAY) | {MONDAY: Decimal("412")}
    found = detect_spike("openai gpt-4o", "openai|gpt-4o", series, MONDAY)
    assert found == Anomaly(
        "spike",
        "openai|gpt-4o",
        "openai gpt-4o",
        MONDAY,
        Decimal("412"),
        Decimal("100.00"),
        Decimal("4.1"),
        "openai gpt-4o: $412.00 on 2026-11-30, 4.1× its usual Monday",
    )
    assert type(found.cost_usd) is Decimal and type(found.ratio) is Decimal
    assert found.to_dict() == {
        "kind": "spike",
        "subject": "openai|gpt-4o",
        "label": "openai gpt-4o",
        "date": "2026-11-30",
        "cost_usd": "412",
        "baseline_usd": "100.00",
        "ratio": "4.1",
        "message": "openai gpt-4o: $412.00 on 2026-11-30, 4.1× its usual Monday",
    }


def test_ordinary_day_and_day_after_the_series_are_not_spikes() -> None:
    series = flat(MONDAY) | {MONDAY: Decimal("130")}
    assert detect_spike("m", "m", series, MONDAY) is None
    assert detect_spike("m", "m", flat(MONDAY), MONDAY) is None  # no spend that day


def test_spike_below_the_minimum_pages_nobody() -> None:
    series = flat(MONDAY, "5") | {MONDAY: Decimal("18")}
    assert detect_spike("m", "m", series, MONDAY) is None
    found = detect_spike("m", "m", series, MONDAY, min_usd=Decimal("10"))
    assert found is not None and found.ratio == Decimal("3.6")


def test_earlier_spikes_do_not_inflate_the_baseline() -> None:
    series = flat(MONDAY)
    for back in (3, 10, 21, 22):
        series[MONDAY - dt.timedelta(days=back)] = Decimal("1000")
    series[MONDAY - dt.timedelta(days=7)] = Decimal("900")  # even on the same weekday
    found = detect_spike("m", "m", series | {MONDAY: Decimal("400")}, MONDAY)
    assert found is not None and found.baseline_usd == Decimal("100.00")


def test_weekday_aware_baseline() -> None:
    series = days_before(MONDAY, 56, lambda d: Decimal(300) if d.weekday() == 0 else Decimal(100))
    assert detect_spike("m", "m", series | {MONDAY: Decimal("300")}, MONDAY) is None
    tuesday = MONDAY + dt.timedelta(days=1)
    found = detect_spike("m", "m", series | {MONDAY: Decimal("300"), tuesday: Decimal("300")}, tuesday)
    assert found is not None and found.message == "m: $300.00 on 2026-12-01, 3.0× its usual Tuesday"


def test_a_spike_needs_two_weeks_of_history() -> None:
    assert detect_spike("m", "m", flat(MONDAY, count=13) | {MONDAY: Decimal("500")}, MONDAY) is None
    assert detect_spike("m", "m", flat(MONDAY, count=14) | {MONDAY: Decimal("500")}, MONDAY) is not None


def test_missing_days_inside_the_history_count_as_zero() -> None:
    # Spend every other day: the usual day is the average, and a normal spending day is no spike.
    series = days_before(MONDAY, 56, lambda d: Decimal(100) if d.toordinal() % 2 else Decimal(0))
    series = {d: v for d, v in series.items() if v}
    assert detect_spike("m", "m", series | {MONDAY: Decimal("100")}, MONDAY) is None
    assert detect_spike("m", "m", series | {MONDAY: Decimal("600")}, MONDAY) is not None


def test_unknown_sensitivity_is_refused() -> None:
    with pytest.raises(ValueError):
        detect_spike("m", "m", flat(MONDAY), MONDAY, sensitivity="paranoid")


def test_sensitivities_nest() -> None:
    rng = random.Random(11)
    first = dt.date(2026, 6, 1)
    series = {first + dt.timedelta(days=i): Decimal(rng.randint(6000, 14000)) / 100 for i in range(150)}
    for i in range(60, 150, 4):  # spikes of 1.5x to 5x on a noisy series
        day = first + dt.timedelta(days=i)
        series[day] = series[day] * Decimal(rng.randint(15, 50)) / 10
    flagged = {
        s: {d for d in list(series)[60:] if detect_spike("m", "m", series, d, sensitivity=s)}
        for s in SENSITIVITIES
    }
    assert flagged["low"] <= flagged["normal"] <= flagged["high"]
    assert len(flagged["low"]) < len(flagged["high"])
    assert flagged["low"]


def test_new_model() -> None:
    long_ago = MONDAY - dt.timedelta(days=400)
    series = {MONDAY: Decimal("31.2")}
    found = detect_new_model("openai gpt-5", "openai|gpt-5", series, MONDAY, account_first_day=long_ago)
    assert found is not None and (found.kind, found.baseline_usd, found.ratio) == ("new_model", None, None)
    assert found.message == "openai gpt-5: a model not used before now costs $31.20 on 2026-11-30"
    # Not in the account's first two weeks, not under the minimum, not when used within quiet_days.
    assert (
        detect_new_model("m", "m", series, MONDAY, account_first_day=MONDAY - dt.timedelta(days=13)) is None
    )
    assert detect_new_model("m", "m", {MONDAY: Decimal("19.99")}, MONDAY, account_first_day=long_ago) is None
    used = series | {MONDAY - dt.timedelta(days=30): Decimal("1")}
    assert detect_new_model("m", "m", used, MONDAY, account_first_day=long_ago) is None
    assert detect_new_model("m", "m", used, MONDAY, account_first_day=long_ago, quiet_days=29) is not None


def test_new_model_that_began_with_cents_is_new_the_day_it_first_costs_the_minimum() -> None:
    long_ago = MONDAY - dt.timedelta(days=400)
    series = {MONDAY - dt.timedelta(days=1): Decimal("2"), MONDAY: Decimal("40")}
    assert detect_new_model("m", "m", series, MONDAY, account_first_day=long_ago) is not None
    tuesday = MONDAY + dt.timedelta(days=1)
    later = series | {tuesday: Decimal("45")}
    assert detect_new_model("m", "m", later, tuesday, account_first_day=long_ago) is None


def test_key_woke_up() -> None:
    series = {dt.date(2026, 11, 6): Decimal("3"), MONDAY: Decimal("54.1")}
    found = detect_key_woke_up("prod", "key:c1", series, MONDAY, platform="openai")
    assert found is not None and found.kind == "key_woke_up" and found.subject == "key:c1"
    assert found.message == "Key 'prod' (openai): idle for 23 days, spent $54.10 on 2026-11-30"
    assert found.label == "Key 'prod' (openai)"
    recent = series | {dt.date(2026, 11, 20): Decimal("1")}
    assert detect_key_woke_up("prod", "key:c1", recent, MONDAY) is None  # idle 9 days only
    assert detect_key_woke_up("prod", "key:c1", series | {MONDAY: Decimal("19")}, MONDAY) is None


def test_key_that_never_spent_needs_to_have_existed_for_the_idle_days() -> None:
    series = {MONDAY: Decimal("25")}
    assert detect_key_woke_up("ci", "key:c2", series, MONDAY) is None  # nothing tells how long it slept
    young = detect_key_woke_up("ci", "key:c2", series, MONDAY, created=MONDAY - dt.timedelta(days=5))
    assert young is None
    old = detect_key_woke_up("ci", "key:c2", series, MONDAY, created=MONDAY - dt.timedelta(days=20))
    assert old is not None and old.message == "Key 'ci': idle for 20 days, spent $25.00 on 2026-11-30"


def test_money_format() -> None:
    assert money(Decimal("1234.565")) == "$1,234.57"
    assert money(Decimal("0")) == "$0.00"
    assert money(Decimal("1000000")) == "$1,000,000.00"
