"""Retry backoff: 30 s doubling to at most 1 h apart, +-10% jitter, never past 24 h after the first try."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from usage.backoff import RETRY_WINDOW, base_delay, next_attempt, step_delay

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


class Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def uniform(self, a: float, b: float) -> float:
        assert (a, b) == (-0.1, 0.1)
        return self.value


def test_delays_double_from_30_seconds_up_to_an_hour() -> None:
    seconds = [base_delay(n).total_seconds() for n in range(1, 12)]
    assert seconds[:5] == [30, 60, 120, 240, 480]
    assert seconds == sorted(seconds)
    assert max(seconds) == 3600 and seconds[-1] == 3600
    assert base_delay(10_000) == dt.timedelta(hours=1)
    with pytest.raises(ValueError):
        base_delay(0)


def test_jitter_stays_within_ten_percent() -> None:
    rng = random.Random(7)
    for attempts in (1, 4, 20):
        base = base_delay(attempts)
        for _ in range(200):
            when = next_attempt(T0, attempts, T0, rng)
            assert when is not None
            assert base * 0.9 <= when - T0 <= base * 1.1
    assert next_attempt(T0, 1, T0, Fixed(0.1)) == T0 + dt.timedelta(seconds=33)
    assert next_attempt(T0, 1, T0, Fixed(-0.1)) == T0 + dt.timedelta(seconds=27)


def test_schedule_is_monotonic_capped_and_gives_up_after_a_day() -> None:
    rng = random.Random(11)
    now, attempts, times = T0, 1, [T0]
    while (when := next_attempt(T0, attempts, now, rng)) is not None:
        assert when > now
        assert when - now <= dt.timedelta(hours=1.1)
        assert when - T0 <= RETRY_WINDOW
        times.append(when)
        now, attempts = when, attempts + 1
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:7] == sorted(gaps[:7])  # doubling outgrows the jitter until the cap
    assert dt.timedelta(hours=22) < times[-1] - T0 <= RETRY_WINDOW
    assert 25 < len(times) < 35  # 7 growing steps, then about 22 hourly ones


def test_gives_up_when_the_next_try_would_pass_the_window() -> None:
    late = T0 + RETRY_WINDOW - dt.timedelta(minutes=30)
    assert next_attempt(T0, 30, late, Fixed(0.0)) is None
    assert next_attempt(T0, 1, late, Fixed(0.0)) == late + dt.timedelta(seconds=30)


def test_step_delays_double_from_the_first_up_to_the_cap_with_jitter() -> None:
    delays = [step_delay(n, 0.5, 4.0, Fixed(0.0)) for n in range(1, 7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert step_delay(1, 0.5, 4.0, Fixed(0.1)) == pytest.approx(0.55)
    assert step_delay(3, 0.5, 4.0, Fixed(-0.1)) == pytest.approx(1.8)
    assert step_delay(10_000, 0.5, 4.0, Fixed(0.0)) == 4.0
    with pytest.raises(ValueError):
        step_delay(0, 0.5, 4.0)
