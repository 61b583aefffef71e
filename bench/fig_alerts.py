"""Figure: forecasts and spike alerts on synthetic daily cost series, in-process (no stack).

240 series (fixed seed, costs in whole cents) in six families: flat with noise, a weekday pattern
(weekends low), an upward trend, occasional spikes, a price change in every month (the level times
0.6 or 1.5 from a day between the 8th and the 22nd), and all of these mixed; daily levels from $5
to $2,000, multiplicative log-normal noise of 8-25 %.

Forecast backtest: for each series, March to June 2026, forecasts as of days 7, 14, 21 and 25 of
the month, each seeing only the days up to then (90 days back). Error: absolute percentage error
of the month's total; baseline: the month-to-date run rate (mtd / days elapsed * days in month).
Floor: overall median APE at most 0.8 times the run rate's. Also: how often the month's total
falls inside the 80 % interval.

Spikes: 3x-6x spikes injected on about 3 % of the days of the same four months (only where the
spiked day costs $20 or more), on top of the spikes family's own; detect_spike runs on every day of
those months. Recall over the known spikes of $20 or more, precision over all flagged days. Floors
at "normal": recall >= 0.9, precision >= 0.8.

A floor missed marks its figure unchecked (so the run exits 1) and keeps its numbers.
`python -m bench alerts` or `python -m bench.fig_alerts` runs it without the stack (a few seconds;
the detailed tables go to stderr).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from usage.anomalies import SENSITIVITIES, detect_spike
from usage.forecast import DayCost, forecast_period, median

from bench.report import Figure

SEED = 20261201
PER_FAMILY = 40
FIRST_DAY = dt.date(2025, 12, 1)
MONTHS = ((2026, 3), (2026, 4), (2026, 5), (2026, 6))
AS_OF_DAYS = (7, 14, 21, 25)
HISTORY_DAYS = 90
SPIKE_SHARE = 0.03
MIN_USD_CENTS = 2000
FLOOR_RATIO = Decimal("0.8")
FLOOR_RECALL, FLOOR_PRECISION = Decimal("0.9"), Decimal("0.8")


@dataclass
class Series:
    family: str
    cents: list[int]  # one value per day from FIRST_DAY
    spikes: set[int] = field(default_factory=set)  # day indexes of the generator's own spikes


def _per_mille_noise(rng: random.Random, spread: float) -> int:
    return max(1, round(1000 * math.exp(rng.gauss(0, spread))))


def _shift_days(rng: random.Random, days: list[dt.date]) -> dict[int, int]:
    """A price change in every month from February: day index -> new level multiplier (per mille)."""
    changes, level = {}, 1000
    for year, month in ((2026, 2), *MONTHS):
        on = days.index(dt.date(year, month, rng.randint(8, 22)))
        factor = 600 if level > 1500 or (level >= 700 and rng.random() < 0.5) else 1500
        level = level * factor // 1000
        changes[on] = level
    return changes


def make_series(rng: random.Random, family: str, days: list[dt.date]) -> Series:
    level = round(500 * 400 ** rng.random())  # $5 to $2,000 a day, log-uniform, in cents
    spread = rng.uniform(0.08, 0.25)
    mixed = family == "mixed"
    weekdays = [1000] * 7
    if family == "weekday" or (mixed and rng.random() < 0.7):
        weekend = rng.randint(200, 500)
        weekdays = [rng.randint(900, 1200) for _ in range(5)] + [weekend, weekend + rng.randint(-50, 50)]
    growth = rng.randint(100, 600) if family == "trend" else rng.randint(0, 300) if mixed else 0
    changes = _shift_days(rng, days) if family == "price_change" or (mixed and rng.random() < 0.5) else {}
    spiky = family == "spikes" or (mixed and rng.random() < 0.5)
    series = Series(family, [])
    shift = 1000
    for i, day in enumerate(days):
        shift = changes.get(i, shift)
        trend = 1000 + growth * i // 30  # growth per mille a month, linear
        value = level * weekdays[day.weekday()] * trend * shift // 10**9
        value = value * _per_mille_noise(rng, spread) // 1000
        if spiky and rng.random() < 0.02:
            value = value * rng.randint(3000, 6000) // 1000
            series.spikes.add(i)
        series.cents.append(value)
    return series


def make_all(rng: random.Random, days: list[dt.date]) -> list[Series]:
    families = ("flat", "weekday", "trend", "spikes", "price_change", "mixed")
    return [make_series(rng, family, days) for family in families for _ in range(PER_FAMILY)]


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def backtest(all_series: list[Series], days: list[dt.date]) -> dict[str, object]:
    ours: dict[str, list[Decimal]] = {}
    naive: dict[str, list[Decimal]] = {}
    by_day: dict[int, tuple[list[Decimal], list[Decimal]]] = {d: ([], []) for d in AS_OF_DAYS}
    inside: dict[str, list[bool]] = {}
    for series in all_series:
        costs = [DayCost(day, _money(c)) for day, c in zip(days, series.cents, strict=True)]
        for year, month in MONTHS:
            first = days.index(dt.date(year, month, 1))
            length = calendar.monthrange(year, month)[1]
            truth = _money(sum(series.cents[first : first + length]))
            if truth <= 0:
                continue
            for elapsed in AS_OF_DAYS:
                as_of = first + elapsed - 1
                seen = costs[max(0, as_of - HISTORY_DAYS) : as_of + 1]
                forecast = forecast_period(seen, days[as_of])
                mtd = _money(sum(series.cents[first : as_of + 1]))
                run_rate = mtd / elapsed * length
                for store, value in ((ours, forecast.projected_usd), (naive, run_rate)):
                    ape = abs(value - truth) / truth
                    store.setdefault(series.family, []).append(ape)
                    store.setdefault("all", []).append(ape)
                by_day[elapsed][0].append(ours["all"][-1])
                by_day[elapsed][1].append(naive["all"][-1])
                held = forecast.low_usd <= truth <= forecast.high_usd
                inside.setdefault(series.family, []).append(held)
                inside.setdefault("all", []).append(held)
    return {
        "families": {f: (median(ours[f]), median(naive[f])) for f in ours},
        "by_day": {d: (median(a), median(b)) for d, (a, b) in by_day.items()},
        "coverage": {f: Decimal(sum(held)) / len(held) for f, held in inside.items()},
        "forecasts": len(inside["all"]),
    }


@dataclass
class SpikeResult:
    flagged: int
    true_positives: int
    known: int

    @property
    def recall(self) -> Decimal:
        return Decimal(self.true_positives) / self.known if self.known else Decimal(1)

    @property
    def precision(self) -> Decimal:
        return Decimal(self.true_positives) / self.flagged if self.flagged else Decimal(1)


def spikes(rng: random.Random, all_series: list[Series], days: list[dt.date]) -> dict[str, SpikeResult]:
    window = range(days.index(dt.date(*MONTHS[0], 1)), len(days))
    results = {s: SpikeResult(0, 0, 0) for s in SENSITIVITIES}
    for n, series in enumerate(all_series):
        cents = list(series.cents)
        known = {i for i in series.spikes if i in window and cents[i] >= MIN_USD_CENTS}
        for i in window:
            spiked = cents[i] * rng.randint(3000, 6000) // 1000
            if rng.random() < SPIKE_SHARE and spiked >= MIN_USD_CENTS and i not in series.spikes:
                cents[i] = spiked
                known.add(i)
        values = {day: _money(c) for day, c in zip(days, cents, strict=True)}
        for sensitivity, result in results.items():
            result.known += len(known)
            for i in window:
                found = detect_spike(f"series {n}", f"s{n}", values, days[i], sensitivity=sensitivity)
                if found is not None:
                    result.flagged += 1
                    result.true_positives += i in known
    return results


def _pct(value: Decimal) -> float:
    return float(round(value * 100, 2))


def _table(backtested: dict[str, object], spiked: dict[str, SpikeResult], say: Callable[[str], None]) -> None:
    say("forecast, median APE of the month's total   ours    run rate  ratio")
    rows = {**backtested["families"], **{f"as of day {d}": v for d, v in backtested["by_day"].items()}}
    for name, (ours, naive) in rows.items():
        ratio = f"{ours / naive:.2f}" if naive else "-"
        say(f"  {name:<40} {_pct(ours):6.2f}%  {_pct(naive):6.2f}%  {ratio}")
    coverage = ", ".join(f"{f} {_pct(c):.0f}%" for f, c in backtested["coverage"].items())
    say(f"  the 80 % interval holds the month's total: {coverage}")
    say("spikes           recall  precision  flagged  known")
    for name, r in spiked.items():
        say(f"  {name:<14} {r.recall:.3f}   {r.precision:.3f}      {r.flagged:6d}  {r.known:5d}")


def run(bench: object = None) -> list[Figure]:
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range((dt.date(2026, 6, 30) - FIRST_DAY).days + 1)]
    rng = random.Random(SEED)
    all_series = make_all(rng, days)
    began = time.perf_counter()
    backtested = backtest(all_series, days)
    forecast_s = time.perf_counter() - began
    began = time.perf_counter()
    spiked = spikes(rng, all_series, days)
    spike_s = time.perf_counter() - began
    _table(backtested, spiked, lambda line: print(line, file=sys.stderr, flush=True))
    ours, naive = backtested["families"]["all"]
    figures = [
        Figure(
            "alerts_forecast_median_ape",
            _pct(ours),
            "% APE",
            baseline=_pct(naive),
            baseline_name="month-to-date run rate (mtd / days elapsed * days in month)",
            samples=backtested["forecasts"],
            extra={
                "families": {f: [_pct(a), _pct(b)] for f, (a, b) in backtested["families"].items()},
                "interval_coverage": {f: _pct(c) for f, c in backtested["coverage"].items()},
                "seconds": round(forecast_s, 1),
            },
        )
    ]
    for name, result in spiked.items():
        figures.append(
            Figure(
                f"alerts_spike_recall_{name}",
                float(result.recall),
                "recall",
                samples=result.known,
                extra={
                    "precision": float(round(result.precision, 3)),
                    "flagged": result.flagged,
                    "seconds": round(spike_s, 1),
                },
            )
        )
    # A floor missed marks its figure unchecked (the run exits 1) but keeps the numbers to read.
    figures[0].checked = naive > 0 and ours / naive <= FLOOR_RATIO
    normal = spiked["normal"]
    figures[1 + SENSITIVITIES.index("normal")].checked = (
        normal.recall >= FLOOR_RECALL and normal.precision >= FLOOR_PRECISION
    )
    return figures


if __name__ == "__main__":
    results = run(None)
    for figure in results:
        print(figure.as_json())
    sys.exit(0 if all(f.checked for f in results) else 1)
