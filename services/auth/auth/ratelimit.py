"""Failed-attempt limits (ASVS 2.2.1, OWASP credential-stuffing cheat sheet): at most N failures
per account (keyed by the typed email, so unknown emails behave exactly like real ones) and per
client IP within sliding windows. Checked *before* any bcrypt work; past a limit the caller gets
RESOURCE_EXHAUSTED with the seconds until the oldest counted failure leaves the window."""

from __future__ import annotations

import datetime as dt
import math

from auth.config import LimitConfig
from auth.errors import Throttled
from auth.store.counters import FailureCounter

THROTTLED_MESSAGE = "Too many failed attempts. Wait a while before trying again."


def account_key(email_key: str) -> str:
    return f"account:{email_key}"


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


class LoginLimiter:
    def __init__(self, counter: FailureCounter, cfg: LimitConfig) -> None:
        self.counter = counter
        self.cfg = cfg

    def _rules(self, email_key: str, ip: str) -> list[tuple[str, int, int]]:
        rules = [(account_key(email_key), self.cfg.account_max_failures, self.cfg.account_window_s)]
        if ip:  # calls without a client IP (internal tools) are limited per account only
            rules.append((ip_key(ip), self.cfg.ip_max_failures, self.cfg.ip_window_s))
        return rules

    def check(self, email_key: str, ip: str, now: dt.datetime) -> None:
        """Raise Throttled when any limit is used up; otherwise do nothing."""
        for key, limit, window in self._rules(email_key, ip):
            since = now - dt.timedelta(seconds=window)
            if self.counter.count_since(key, since, limit) >= limit:
                oldest = self.counter.oldest_since(key, since) or now
                wait = (oldest + dt.timedelta(seconds=window) - now).total_seconds()
                raise Throttled(THROTTLED_MESSAGE, retry_after=max(1, math.ceil(wait)))

    def failed(self, email_key: str, ip: str, now: dt.datetime) -> None:
        rules = self._rules(email_key, ip)
        self.counter.record([key for key, _, _ in rules], now, keep_s=max(w for _, _, w in rules))

    def succeeded(self, email_key: str) -> None:
        # The IP count stays: one success must not reset a credential-stuffing run.
        self.counter.clear(account_key(email_key))
