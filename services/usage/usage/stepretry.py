"""Retry one step of a sync run when a peer answered too late, inside the run.

A sync run talks to keyvault (reveal the key, record the outcome) and to the database (store a
day, record progress). Either can miss its deadline while busy elsewhere (a reveal took 5.9 s
while the database answered a summary): failing the whole run for that threw away a 90-day
backfill. Instead the step is asked again a few times, with jittered exponential backoff
(usage.backoff.step_delay), and only a peer that stays silent through every attempt ends the run.

Only idempotent steps go through here (a reveal, a status write, a day replaced as a whole);
``transient`` says which errors mean "no answer in time" rather than "a real answer".
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from usage.backoff import Uniform, step_delay

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class StepRetry:
    """4 attempts 0.5 s, 1 s, 2 s apart (+-10%): with keyvault's 5 s deadline a step gives up after
    about 25 s, well inside a run's heartbeat limit (USAGE_SYNC_STALE_SECONDS, 300 s)."""

    attempts: int = 4
    first_delay_s: float = 0.5
    max_delay_s: float = 4.0
    sleep: Callable[[float], None] = time.sleep
    rng: Uniform = field(default_factory=lambda: random.Random())  # noqa: S311 - jitter, not secrets

    def call(self, what: str, step: Callable[[], T], transient: Callable[[BaseException], bool]) -> T:
        """``step()``; asked again after a transient error until the attempts run out (then it
        raises the last error). ``what`` names the step in logs (never an id or a secret)."""
        attempt = 1
        while True:
            try:
                return step()
            except Exception as exc:
                if attempt >= self.attempts or not transient(exc):
                    raise
                delay = step_delay(attempt, self.first_delay_s, self.max_delay_s, self.rng)
                log.warning(
                    "sync step answered late; asking again",
                    extra={
                        "step": what,
                        "attempt": attempt,
                        "delay_s": round(delay, 3),
                        "error_type": type(exc).__name__,
                    },
                )
                self.sleep(delay)
                attempt += 1
