"""A provider's per-key rate limit, as the load figure's fake enforces it: at most LIMIT requests
per key in each one-second window; a request over it is refused (429) with a Retry-After of the
whole seconds until the window ends. It also keeps the evidence the figure reports: the most
requests one key made in a window (admitted, and attempted including refused ones), how many
were refused, and how many came back before the Retry-After they were given had passed."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field


@dataclass
class _KeyWindow:
    window: int = -1  # the whole second the counts are for
    admitted: int = 0
    attempted: int = 0
    retry_not_before: float = 0.0  # the earliest moment a refused caller was told to come back


@dataclass
class KeyRateLimiter:
    limit_per_s: int
    keys: dict[str, _KeyWindow] = field(default_factory=dict)
    max_admitted: int = 0
    max_attempted: int = 0
    admitted_total: int = 0
    refused_total: int = 0
    early_retries: int = 0  # requests before the Retry-After they were given: a client ignoring it
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, key: str, now: float) -> float | None:
        """None when the request may go ahead, else the seconds to put in Retry-After."""
        second = math.floor(now)
        with self._lock:
            state = self.keys.setdefault(key, _KeyWindow())
            if now < state.retry_not_before:
                self.early_retries += 1
            if state.window != second:
                state.window, state.admitted, state.attempted = second, 0, 0
            state.attempted += 1
            self.max_attempted = max(self.max_attempted, state.attempted)
            if state.admitted < self.limit_per_s:
                state.admitted += 1
                self.admitted_total += 1
                self.max_admitted = max(self.max_admitted, state.admitted)
                return None
            self.refused_total += 1
            wait = max(1, math.ceil(second + 1 - now))
            state.retry_not_before = max(state.retry_not_before, now + wait - 0.05)  # clock slack
            return float(wait)

    def report(self) -> dict[str, int]:
        with self._lock:
            return {
                "limit_per_key_per_s": self.limit_per_s,
                "keys_seen": len(self.keys),
                "max_admitted_per_key_per_s": self.max_admitted,
                "max_attempted_per_key_per_s": self.max_attempted,
                "requests_admitted": self.admitted_total,
                "requests_refused_429": self.refused_total,
                "retries_before_retry_after": self.early_retries,
            }
