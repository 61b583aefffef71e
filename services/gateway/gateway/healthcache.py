"""The backends' health as /readyz and /v1/status report it, probed at most once per MAX_AGE_S
in each gateway worker. Both routes are public, so without this anyone could make the gateway
call every backend once per request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_AGE_S = 2.0
# An answer naming a backend that is not serving is kept shorter, so a worker that probed while
# the backends were starting does not go on reporting "not ready" after they serve.
NOT_SERVING_MAX_AGE_S = 0.5

Probe = Callable[[], dict[str, str]]


class CachedHealth:
    def __init__(
        self, probe: Probe, max_age_s: float = MAX_AGE_S, not_serving_max_age_s: float = NOT_SERVING_MAX_AGE_S
    ) -> None:
        self._probe = probe
        self._max_age_s = max_age_s
        self._not_serving_max_age_s = not_serving_max_age_s
        self._lock = threading.Lock()
        self._answer: dict[str, str] | None = None
        self._expires = 0.0

    def __call__(self) -> dict[str, str]:
        # One probe at a time: callers arriving while it runs wait for its answer instead of
        # starting probes of their own.
        with self._lock:
            if self._answer is None or time.monotonic() >= self._expires:
                self._answer = self._probe()
                serving = all(status == "SERVING" for status in self._answer.values())
                max_age_s = self._max_age_s if serving else self._not_serving_max_age_s
                self._expires = time.monotonic() + max_age_s
            return dict(self._answer)
