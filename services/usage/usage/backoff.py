"""Exponential backoff with jitter: when to try a failed notification delivery again (within a
day), and how long a sync step waits before asking a slow peer again (``step_delay``, seconds).

Deliveries: 30 s after the first failure, then 1 min, 2 min, 4 min, ... at most 1 h apart, each +-10%
so that many deliveries failing together (a receiver's outage) do not all come back at the same moment.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Protocol

RETRY_WINDOW = dt.timedelta(hours=24)
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=1)
JITTER = 0.1


class Uniform(Protocol):  # the random module itself, or a seeded random.Random in tests
    def uniform(self, a: float, b: float) -> float: ...


def base_delay(attempts: int) -> dt.timedelta:
    """The delay after `attempts` failed attempts (1 or more), before jitter."""
    if attempts < 1:
        raise ValueError("attempts counts the attempts already made: 1 or more")
    doublings = min(attempts - 1, 16)  # 30 s * 2**7 already passes the cap; this keeps the numbers small
    return min(FIRST_DELAY * 2**doublings, MAX_DELAY)


def next_attempt(
    first_attempt_at: dt.datetime, attempts: int, now: dt.datetime, rng: Uniform = random
) -> dt.datetime | None:
    """When to try again after `attempts` failed attempts, or None: the retry window is spent, give up."""
    factor = 1 + rng.uniform(-JITTER, JITTER)
    when = now + base_delay(attempts) * factor
    if when - first_attempt_at > RETRY_WINDOW:
        return None
    return when


def step_delay(attempts: int, first_s: float, max_s: float, rng: Uniform = random) -> float:
    """Seconds to wait after `attempts` failed attempts (1 or more) at one step of a sync run:
    `first_s` doubling up to `max_s`, +-JITTER (the workers that met the same slow peer spread out)."""
    if attempts < 1:
        raise ValueError("attempts counts the attempts already made: 1 or more")
    delay = min(first_s * 2 ** min(attempts - 1, 16), max_s)
    return delay * (1 + rng.uniform(-JITTER, JITTER))
