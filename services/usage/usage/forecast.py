"""Projected spend to the end of a period (by default the calendar month of ``as_of``) from a sparse
daily cost series, with an interval of about 80 %. Pure and exact: every figure, statistics
included, is a Decimal.

The model, applied to the days observed up to ``as_of`` (at most ``HISTORY_DAYS`` back):

* weekday seasonality: each day's ratio to its centred 7-day mean, the median per weekday over the
  last 8 weeks (ratios to a moving mean survive level shifts and trends; medians survive spikes);
* the deseasonalised series is searched for its last level shift (the split whose two sides'
  means differ most, against the day-to-day noise, lone spikes clipped; unless one straight line
  fits as well: a trend), so a mid-period price change is followed as soon as three days show it,
  instead of being diluted by the old level for weeks;
* on the days since that shift (at most the 8 weeks) a weighted line gives the level and a trend;
  the slope is shrunk by its own evidence (a faint one mostly dropped) and damped into the future.
  Provisional days (the provider may still revise them, usually upwards) weigh a quarter;
* the interval comes from the day-to-day noise of the deseasonalised series (independent noise on
  each remaining day), the uncertainty of the level, and a drift of the level after as_of, so it
  widens with the days left.

With fewer than ``MIN_HISTORY`` days observed the projection is the period-to-date run rate; a
period that is over is "complete" (actual spend, no interval).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HISTORY_DAYS = 90
MIN_HISTORY = 7
SEASON_DAYS = 56  # weekday factors and the level-shift search look back 8 weeks
MIN_TREND_DAYS = 14
SHIFT_MIN_BEFORE, SHIFT_MIN_AFTER = 7, 3
SHIFT_SCORE = Decimal(4)  # in noise units: the largest chance split of 8 weeks of noise stays below
SHIFT_MIN_CHANGE = Decimal("0.1")  # a shift under 10 % is not worth forgetting history for
PROVISIONAL_WEIGHT = Decimal("0.25")
DAMPING = Decimal("0.98")  # a trend fades: after h days it has added slope * (0.98 + ... + 0.98**h)
TREND_T = Decimal(2)  # a slope 2 standard errors from 0 keeps half of itself, one 4 away 4/5
LEVEL_DRIFT = Decimal("0.015")  # a day, of the level: prices and usage move after as_of
Z_80 = Decimal("1.2816")  # two-sided 80 % of a normal distribution
MAD_TO_SIGMA = Decimal("1.4826")
MEDIAN_EFFICIENCY = Decimal("1.5708")  # a median's variance over a mean's (pi / 2)
CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class DayCost:
    date: dt.date
    cost_usd: Decimal
    provisional: bool = False  # provider may still revise it (today / last ~2 days): weight it less


@dataclass(frozen=True)
class Forecast:
    period_start: dt.date
    period_end: dt.date  # inclusive
    as_of: dt.date  # last day counted as observed
    actual_usd: Decimal  # spend period_start..as_of
    projected_usd: Decimal  # actual + expected rest of period
    low_usd: Decimal  # interval (about 80 %), low >= actual
    high_usd: Decimal
    method: str  # "seasonal" | "run_rate" (too little history) | "complete"

    def to_dict(self) -> dict[str, str]:
        return {
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "actual_usd": str(self.actual_usd),
            "projected_usd": str(self.projected_usd),
            "low_usd": str(self.low_usd),
            "high_usd": str(self.high_usd),
            "method": self.method,
        }


@dataclass(frozen=True)
class _Outlook:
    """The expected cost of each day after as_of up to the period's end, and the standard
    deviation of their sum."""

    actual: Decimal
    expected: list[tuple[dt.date, Decimal]]
    sd: Decimal
    method: str


def forecast_period(
    days: Sequence[DayCost],
    as_of: dt.date,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
) -> Forecast:
    start, end = _period(as_of, period_start, period_end)
    outlook = _outlook(days, as_of, start, end)
    actual = _cents(outlook.actual)
    projected = _cents(outlook.actual + sum((v for _d, v in outlook.expected), ZERO))
    margin = Z_80 * outlook.sd
    low = max(actual, min(projected, _cents(projected - margin)))
    high = max(projected, _cents(projected + margin))
    return Forecast(start, end, as_of, actual, projected, low, high, outlook.method)


def projected_crossing(
    days: Sequence[DayCost],
    as_of: dt.date,
    amount_usd: Decimal,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
) -> dt.date | None:
    """The first day on which the period's cumulative spend (observed up to as_of, expected after)
    reaches amount_usd; None if it does not before the period ends."""
    start, end = _period(as_of, period_start, period_end)
    total = ZERO
    observed = _observed(days, as_of)
    for day in _dates(start, min(as_of, end)):
        total += observed.get(day, (ZERO, False))[0]
        if total >= amount_usd:
            return day
    for day, value in _outlook(days, as_of, start, end).expected:
        total += value
        if total >= amount_usd:
            return day
    return None


def median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        raise ValueError("median of nothing")
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _period(as_of: dt.date, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    start = start or as_of.replace(day=1)
    if end is None:
        end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    if end < start:
        raise ValueError("period_end before period_start")
    return start, end


def _dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _observed(days: Sequence[DayCost], as_of: dt.date) -> dict[dt.date, tuple[Decimal, bool]]:
    """The days known up to as_of (at most HISTORY_DAYS back); a day given twice adds up."""
    first = as_of - dt.timedelta(days=HISTORY_DAYS)
    out: dict[dt.date, tuple[Decimal, bool]] = {}
    for day in days:
        if first <= day.date <= as_of:
            cost, provisional = out.get(day.date, (ZERO, False))
            out[day.date] = (cost + day.cost_usd, provisional or day.provisional)
    return out


def _outlook(days: Sequence[DayCost], as_of: dt.date, start: dt.date, end: dt.date) -> _Outlook:
    observed = _observed(days, as_of)
    actual = sum((cost for d, (cost, _p) in observed.items() if start <= d <= end), ZERO)
    if as_of >= end:
        return _Outlook(actual, [], ZERO, "complete")
    rest = _dates(max(start, as_of + dt.timedelta(days=1)), end)
    first_known = min(observed, default=as_of)
    history = _dates(first_known, as_of) if observed else []
    if len(history) < MIN_HISTORY:
        return _run_rate(observed, history, start, actual, rest)
    return _seasonal(observed, history, as_of, actual, rest)


def _run_rate(
    observed: dict[dt.date, tuple[Decimal, bool]],
    history: list[dt.date],
    start: dt.date,
    actual: Decimal,
    rest: list[dt.date],
) -> _Outlook:
    # The period's own days (from the first known one) if there are any, else whatever is known.
    counted = [d for d in history if d >= start] or history
    values = [observed.get(d, (ZERO, False))[0] for d in counted]
    if not values:
        return _Outlook(actual, [(d, ZERO) for d in rest], ZERO, "run_rate")
    rate = sum(values, ZERO) / len(values)
    if len(values) > 1:
        spread = (sum(((v - rate) ** 2 for v in values), ZERO) / (len(values) - 1)).sqrt()
    else:
        spread = rate / 2  # one day says little about the next ones
    sd = _sum_sd(spread, [Decimal(1)] * len(rest), Decimal(len(values)))
    return _Outlook(actual, [(d, rate) for d in rest], sd, "run_rate")


def _seasonal(
    observed: dict[dt.date, tuple[Decimal, bool]],
    history: list[dt.date],
    as_of: dt.date,
    actual: Decimal,
    rest: list[dt.date],
) -> _Outlook:
    recent = history[-SEASON_DAYS:]
    values = [observed.get(d, (ZERO, False))[0] for d in recent]
    provisional = [observed.get(d, (ZERO, False))[1] for d in recent]
    factors = _weekday_factors(recent, values, provisional)
    # Deseasonalised points (index, value, weight); a weekday that never spends says nothing of the level.
    points = [
        (i, values[i] / factors[d.weekday()], PROVISIONAL_WEIGHT if provisional[i] else Decimal(1))
        for i, d in enumerate(recent)
        if factors[d.weekday()] > 0
    ]
    if not points:
        return _Outlook(actual, [(d, ZERO) for d in rest], ZERO, "seasonal")
    sigma = _noise([x for _i, x, _w in points])
    # Provisional days may still grow: they neither make a shift nor hide one.
    final = [j for j, (_i, _x, w) in enumerate(points) if w == 1]
    cut = _last_shift([points[j][1] for j in final], sigma)
    segment = points[final[cut] if cut < len(final) else 0 :]
    level, slope = _level_and_trend(segment, sigma, len(recent) - 1)
    # faded[h]: what the trend has added after h days (damped: 0.98 + 0.98**2 + ... + 0.98**h).
    faded, fade = [ZERO], Decimal(1)
    for _ in range((rest[-1] - as_of).days if rest else 0):
        fade *= DAMPING
        faded.append(faded[-1] + fade)
    expected = [
        (day, max(ZERO, level + slope * faded[(day - as_of).days]) * factors[day.weekday()]) for day in rest
    ]
    weights = sum((w for _i, _x, w in segment), ZERO)
    spread = max(sigma, _rms_noise([x for _i, x, _w in points]))
    sd = _sum_sd(spread, [factors[d.weekday()] for d in rest], weights, level)
    return _Outlook(actual, expected, sd, "seasonal")


def _weekday_factors(dates: list[dt.date], values: list[Decimal], provisional: list[bool]) -> list[Decimal]:
    """Per weekday (Monday first) the median ratio of a day to its centred 7-day mean, scaled so
    that the seven average 1. All ones until every weekday has two ratios."""
    ratios: list[list[Decimal]] = [[] for _ in range(7)]
    for i in range(3, len(values) - 3):
        window = values[i - 3 : i + 4]
        mean = sum(window, ZERO) / 7
        if mean > 0 and not any(provisional[i - 3 : i + 4]):
            ratios[dates[i].weekday()].append(values[i] / mean)
    if any(len(r) < 2 for r in ratios):
        return [Decimal(1)] * 7
    medians = [median(r) for r in ratios]
    average = sum(medians, ZERO) / 7
    if average <= 0:
        return [Decimal(1)] * 7
    factors = [m / average for m in medians]
    # Eight noisy ratios make a noisy factor: shrink the factors towards 1 by how much of their
    # spread the noise alone explains (James-Stein), so a flat series stays flat.
    spread = MAD_TO_SIGMA * median([abs(x - m) for r, m in zip(ratios, medians, strict=True) for x in r])
    noise = sum((MEDIAN_EFFICIENCY * spread**2 / len(r) for r in ratios), ZERO) / 7 / average**2
    between = sum(((f - 1) ** 2 for f in factors), ZERO) / 6
    keep = max(ZERO, 1 - noise / between) if between > 0 else ZERO
    return [1 + (f - 1) * keep for f in factors]


def _noise(xs: list[Decimal]) -> Decimal:
    """The day-to-day noise of a series: robust (median of absolute first differences), and blind
    to level shifts and trends, which move few differences."""
    if len(xs) < 2:
        return ZERO
    diffs = [abs(b - a) for a, b in zip(xs, xs[1:], strict=False)]
    return MAD_TO_SIGMA * median(diffs) / Decimal(2).sqrt()


def _rms_noise(xs: list[Decimal]) -> Decimal:
    """The day-to-day noise as a root mean square: unlike the robust one it counts the spikes,
    which a sum of days does include."""
    if len(xs) < 2:
        return ZERO
    return (sum(((b - a) ** 2 for a, b in zip(xs, xs[1:], strict=False)), ZERO) / (2 * (len(xs) - 1))).sqrt()


def _last_shift(xs: list[Decimal], sigma: Decimal) -> int:
    """Index where the level last shifted (0: no shift). The split whose sides' means differ most,
    scored in noise units; searched again after a found shift for a later one. Each value is first
    clipped to 4 noise units around the median of its five neighbours, so a lone spike is no shift
    while a shift, which its neighbours share, stays whole."""
    if not xs:
        return 0
    floor = max(sigma, abs(median(xs)) * Decimal("0.01"), CENT)
    clipped = []
    for i, x in enumerate(xs):
        local = median(xs[max(0, i - 2) : i + 3])
        clipped.append(min(max(x, local - 4 * floor), local + 4 * floor))
    begin = 0
    while len(clipped) - begin >= SHIFT_MIN_BEFORE + SHIFT_MIN_AFTER:
        part = clipped[begin:]
        n, total = len(part), sum(part, ZERO)
        best, best_k, running = ZERO, 0, sum(part[: SHIFT_MIN_BEFORE - 1], ZERO)
        for k in range(SHIFT_MIN_BEFORE, n - SHIFT_MIN_AFTER + 1):
            running += part[k - 1]
            before, after = running / k, (total - running) / (n - k)
            score = abs(after - before) * (Decimal(k * (n - k)) / n).sqrt() / floor
            if score > best and abs(after - before) >= SHIFT_MIN_CHANGE * max(abs(before), abs(after)):
                best, best_k = score, k
        if best < SHIFT_SCORE or _line_fits_better(part, best_k):
            break
        begin += best_k
    return begin


def _line_fits_better(xs: list[Decimal], k: int) -> bool:
    """Whether one straight line through xs is as close to it (sum of absolute residuals) as a step
    at k: then the series is trending, not shifting, and all of it says where it is going."""
    n = len(xs)
    before, after = median(xs[:k]), median(xs[k:])
    step = sum((abs(x - before) for x in xs[:k]), ZERO) + sum((abs(x - after) for x in xs[k:]), ZERO)
    mean_t, mean_x = Decimal(n - 1) / 2, sum(xs, ZERO) / n
    spread_t = sum(((i - mean_t) ** 2 for i in range(n)), ZERO)
    slope = sum(((i - mean_t) * (x - mean_x) for i, x in enumerate(xs)), ZERO) / spread_t
    line = sum((abs(x - mean_x - slope * (i - mean_t)) for i, x in enumerate(xs)), ZERO)
    return line <= step


def _level_and_trend(
    segment: list[tuple[int, Decimal, Decimal]], sigma: Decimal, last: int
) -> tuple[Decimal, Decimal]:
    """Level at index `last` and slope per day of a weighted line through the segment, its values
    clipped to 4 noise units around their median (one spike must not tilt it). Without enough days
    for a trend: the weighted mean."""
    centre = median([x for _i, x, _w in segment])
    clip = 4 * sigma
    points = [(Decimal(i), min(max(x, centre - clip), centre + clip), w) for i, x, w in segment]
    total = sum((w for _t, _x, w in points), ZERO)
    mean_t = sum((w * t for t, _x, w in points), ZERO) / total
    mean_x = sum((w * x for _t, x, w in points), ZERO) / total
    # The level keeps the spikes (they are spend to expect again); only the slope ignores them.
    level = sum((w * x for _i, x, w in segment), ZERO) / total
    if len(points) < MIN_TREND_DAYS:
        return level, ZERO
    spread_t = sum((w * (t - mean_t) ** 2 for t, _x, w in points), ZERO)
    slope = sum((w * (t - mean_t) * (x - mean_x) for t, x, w in points), ZERO) / spread_t
    # Shrink the slope by its own evidence (t-statistic): a clear trend is kept, a faint one mostly
    # dropped, without the jump of an all-or-nothing significance test.
    t_squared = slope**2 * spread_t / sigma**2 if sigma > 0 else TREND_T**2
    slope = slope * t_squared / (t_squared + TREND_T**2)
    return level + slope * (last - mean_t), slope


def _sum_sd(sigma: Decimal, factors: list[Decimal], weights: Decimal, level: Decimal = ZERO) -> Decimal:
    """Standard deviation of the sum of the remaining days: each day's own noise; the level's
    uncertainty, which every remaining day shares (so it grows with the square of the days); and
    the level's own drift after as_of (prices and usage change), a random walk of LEVEL_DRIFT of
    the level a day, whose sum over h days has variance h(h+1)(2h+1)/6 steps."""
    if not factors:
        return ZERO
    own = sigma**2 * sum((f * f for f in factors), ZERO)
    shared = sigma**2 * sum(factors, ZERO) ** 2 / max(weights, Decimal(1))
    h = len(factors)
    drift = (LEVEL_DRIFT * level) ** 2 * h * (h + 1) * (2 * h + 1) / 6
    return (own + shared + drift).sqrt()
