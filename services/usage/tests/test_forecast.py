"""Month-end forecasts from hand-built daily series: exact on a flat series, better than the
month-to-date run rate on a weekday pattern and after a level shift, provisional days weighed less,
an interval around the projection that never goes below the spend already made, and the day a
budget is expected to be reached."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from usage.forecast import DayCost, Forecast, forecast_period, median, projected_crossing

MARCH_1 = dt.date(2026, 3, 1)


def series(first: dt.date, last: dt.date, cost) -> list[DayCost]:
    """One DayCost a day; cost(day) gives its Decimal cost."""
    return [
        DayCost(first + dt.timedelta(days=i), cost(first + dt.timedelta(days=i)))
        for i in range((last - first).days + 1)
    ]


def flat(as_of: dt.date, amount: str = "100", back: int = 60) -> list[DayCost]:
    return series(as_of - dt.timedelta(days=back), as_of, lambda _d: Decimal(amount))


def run_rate(days: list[DayCost], as_of: dt.date) -> Decimal:
    mtd = sum((d.cost_usd for d in days if d.date >= as_of.replace(day=1)), Decimal(0))
    return mtd / as_of.day * 31


def test_flat_series_projects_its_run_rate_exactly() -> None:
    as_of = dt.date(2026, 3, 10)
    forecast = forecast_period(flat(as_of), as_of)
    assert forecast == Forecast(
        MARCH_1,
        dt.date(2026, 3, 31),
        as_of,
        Decimal("1000.00"),
        Decimal("3100.00"),
        forecast.low_usd,
        forecast.high_usd,
        "seasonal",
    )
    assert forecast.actual_usd <= forecast.low_usd <= forecast.projected_usd <= forecast.high_usd
    for value in (forecast.actual_usd, forecast.projected_usd, forecast.low_usd, forecast.high_usd):
        assert type(value) is Decimal


def test_too_little_history_falls_back_to_the_run_rate() -> None:
    as_of = dt.date(2026, 3, 4)
    days = series(MARCH_1, as_of, lambda d: Decimal(10 * d.day))  # 10, 20, 30, 40
    forecast = forecast_period(days, as_of)
    assert forecast.method == "run_rate"
    assert forecast.actual_usd == Decimal("100.00")
    assert forecast.projected_usd == Decimal("775.00")  # 25 a day for 31 days
    assert forecast.low_usd >= forecast.actual_usd


def test_new_account_run_rate_counts_only_its_own_days() -> None:
    as_of = dt.date(2026, 3, 20)
    days = series(dt.date(2026, 3, 18), as_of, lambda _d: Decimal("50"))
    forecast = forecast_period(days, as_of)
    assert (forecast.method, forecast.projected_usd) == ("run_rate", Decimal("700.00"))  # 150 + 11 * 50


def test_no_days_at_all_projects_nothing() -> None:
    forecast = forecast_period([], dt.date(2026, 3, 10))
    assert (forecast.actual_usd, forecast.projected_usd, forecast.high_usd) == (Decimal("0.00"),) * 3


def weekday_cost(day: dt.date) -> Decimal:
    return Decimal(20) if day.weekday() >= 5 else Decimal(100)


def test_weekday_pattern_beats_the_naive_run_rate() -> None:
    as_of = dt.date(2026, 3, 8)  # a Sunday: two weekends in eight days, but three more to come
    history = series(as_of - dt.timedelta(days=70), as_of, weekday_cost)
    truth = sum(
        (weekday_cost(d.date) for d in series(MARCH_1, dt.date(2026, 3, 31), weekday_cost)), Decimal(0)
    )
    forecast = forecast_period(history, as_of)
    assert forecast.method == "seasonal"
    assert abs(forecast.projected_usd - truth) < abs(run_rate(history, as_of) - truth)
    assert abs(forecast.projected_usd - truth) <= truth / 100


def shifted(day: dt.date) -> Decimal:
    wobble = Decimal((day.toordinal() * 7) % 11 - 5)  # a deterministic +-5 of noise
    return (Decimal(150) if day >= dt.date(2026, 3, 16) else Decimal(100)) + wobble


def test_level_shift_mid_month_is_followed_within_days() -> None:
    as_of = dt.date(2026, 3, 20)
    history = series(as_of - dt.timedelta(days=80), as_of, shifted)
    truth = sum((shifted(d.date) for d in series(MARCH_1, dt.date(2026, 3, 31), shifted)), Decimal(0))
    forecast = forecast_period(history, as_of)
    assert abs(forecast.projected_usd - truth) <= truth * Decimal("0.02")
    assert abs(forecast.projected_usd - truth) * 3 < abs(run_rate(history, as_of) - truth)


def test_provisional_days_weigh_less() -> None:
    as_of = dt.date(2026, 3, 10)
    final = flat(as_of)[:-2]
    # The last two days as the provider first reports them: incomplete.
    late = [DayCost(as_of - dt.timedelta(days=1), Decimal("40")), DayCost(as_of, Decimal("40"))]
    as_final = forecast_period(final + late, as_of)
    as_provisional = forecast_period(
        final + [DayCost(d.date, d.cost_usd, provisional=True) for d in late], as_of
    )
    assert as_provisional.actual_usd == as_final.actual_usd == Decimal("880.00")
    rest_final = as_final.projected_usd - as_final.actual_usd
    rest_provisional = as_provisional.projected_usd - as_provisional.actual_usd
    assert rest_final < rest_provisional <= Decimal("2100.00")  # 21 days at 100 at most
    assert rest_provisional >= Decimal("2000.00")


def noisy(seed: int, as_of: dt.date) -> list[DayCost]:
    rng = random.Random(seed)
    return series(as_of - dt.timedelta(days=80), as_of, lambda _d: Decimal(rng.randint(7000, 13000)) / 100)


def test_interval_holds_the_projection_never_below_actual_and_widens_with_days_left() -> None:
    early, late = dt.date(2026, 3, 8), dt.date(2026, 3, 24)
    days = noisy(3, late)
    widths = []
    for as_of in (early, late):
        forecast = forecast_period([d for d in days if d.date <= as_of], as_of)
        assert forecast.actual_usd <= forecast.low_usd < forecast.projected_usd < forecast.high_usd
        widths.append(forecast.high_usd - forecast.low_usd)
    assert widths[0] > widths[1] * 2


def test_a_period_that_is_over_is_complete() -> None:
    as_of = dt.date(2026, 3, 31)
    days = noisy(5, as_of)
    forecast = forecast_period(days, as_of)
    actual = sum((d.cost_usd for d in days if d.date >= MARCH_1), Decimal(0)).quantize(Decimal("0.01"))
    assert forecast.method == "complete"
    assert forecast.actual_usd == forecast.projected_usd == forecast.low_usd == forecast.high_usd == actual
    later = forecast_period(days, dt.date(2026, 4, 2), MARCH_1, dt.date(2026, 3, 31))
    assert (later.method, later.projected_usd) == ("complete", actual)


def test_custom_period_and_to_dict() -> None:
    as_of = dt.date(2026, 3, 10)
    forecast = forecast_period(flat(as_of), as_of, dt.date(2026, 3, 5), dt.date(2026, 4, 4))
    assert forecast.to_dict() == {
        "period_start": "2026-03-05",
        "period_end": "2026-04-04",
        "as_of": "2026-03-10",
        "actual_usd": "600.00",
        "projected_usd": "3100.00",
        "low_usd": str(forecast.low_usd),
        "high_usd": str(forecast.high_usd),
        "method": "seasonal",
    }
    with pytest.raises(ValueError):
        forecast_period(flat(as_of), as_of, dt.date(2026, 3, 5), dt.date(2026, 3, 4))


def test_projected_crossing() -> None:
    as_of = dt.date(2026, 3, 10)
    days = flat(as_of)
    assert projected_crossing(days, as_of, Decimal("1500")) == dt.date(2026, 3, 15)
    assert projected_crossing(days, as_of, Decimal("500")) == dt.date(2026, 3, 5)  # already crossed
    assert projected_crossing(days, as_of, Decimal("3100")) == dt.date(2026, 3, 31)
    assert projected_crossing(days, as_of, Decimal("3100.01")) is None
    assert projected_crossing(days, dt.date(2026, 3, 31), Decimal("5000")) is None


def test_median_is_exact() -> None:
    assert median([Decimal(3), Decimal(1), Decimal(2), Decimal("10")]) == Decimal("2.5")
    with pytest.raises(ValueError):
        median([])
