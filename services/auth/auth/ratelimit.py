"""Throttles of auth's public entry points, all keyed by client network (networks.py).

Sign-in (ASVS 2.2.1 and 6.1.1, OWASP credential-stuffing cheat sheet):
Attempts are counted per (typed email, client network) and per client network, never per account
alone: an attacker on another network can slow down only their own guesses, not lock the owner out.
Each key allows a few failures, then makes the client wait between attempts, the wait doubling with
every further failure up to a cap (429 with Retry-After); counts start over in each new window.
Unknown emails are counted exactly like real ones. An attempt is reserved atomically *before* any
bcrypt work (store/throttle.py), so N concurrent guesses cannot all pass one check: at most `free`
reach the password check, then one at a time as the delays allow.

Signup and password-reset requests (each sends an email): at most N per network per window."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from auth.config import LimitConfig
from auth.errors import Throttled
from auth.networks import client_network
from auth.store.throttle import Taken, ThrottleStore

THROTTLED_MESSAGE = "Too many failed attempts. Wait a while before trying again."
QUOTA_MESSAGES = {
    "signup": "Too many sign-ups from your network. Wait a while before trying again.",
    "reset": "Too many password-reset requests from your network. Wait a while before trying again.",
}


def pair_key(email_key: str, network: str) -> str:
    return f"login:{email_key}|{network or '-'}"


def network_key(network: str) -> str:
    return f"login-net:{network}"


@dataclass(frozen=True)
class Attempt:
    """The reserved slots of one attempt: the (email, network) pair, and the network if known."""

    pair: Taken
    network: Taken | None


class LoginLimiter:
    def __init__(self, store: ThrottleStore, cfg: LimitConfig) -> None:
        self.store = store
        self.cfg = cfg

    def delay_s(self, n: int, free: int) -> int:
        """The wait after the n-th failure in a row (n >= free): base, 2 x base, 4 x base ... capped."""
        exponent = min(n - free, 30)
        return min(self.cfg.base_delay_s * 2**exponent, self.cfg.max_delay_s)

    def reserve(self, email_key: str, ip: str, now: dt.datetime) -> Attempt:
        """Reserve an attempt or raise Throttled (with the seconds until it may be tried)."""
        network = client_network(ip)
        pair = self._take(pair_key(email_key, network), self.cfg.free_failures, self.cfg.window_s, now)
        if not network:  # calls without a client IP (internal tools) are limited per email only
            return Attempt(pair, None)
        try:
            net = self._take(
                network_key(network), self.cfg.network_free_failures, self.cfg.network_window_s, now
            )
        except Throttled:
            self.store.release(pair, now)
            raise
        return Attempt(pair, net)

    def _take(self, key: str, free: int, window_s: int, now: dt.datetime) -> Taken:
        taken = self.store.take(key, free, now, window_s)
        if isinstance(taken, Taken):
            return taken
        raise Throttled(THROTTLED_MESSAGE, retry_after=max(1, math.ceil((taken - now).total_seconds())))

    def failed(self, attempt: Attempt, now: dt.datetime) -> None:
        """After the check (`now` is when it ended): the waits count from then."""
        slots = ((attempt.pair, self.cfg.free_failures), (attempt.network, self.cfg.network_free_failures))
        for taken, free in slots:
            if taken is not None and taken.gated:
                until = now + dt.timedelta(seconds=self.delay_s(taken.n, free))
                self.store.close(taken, until)

    def succeeded(self, attempt: Attempt, now: dt.datetime, *, forgive: bool = True) -> None:
        """The right secret. `forgive`: the pair starts over (a session is issued); otherwise (a
        second factor is still due) earlier failures stay counted. The network's count stays:
        one success must not reset a credential-stuffing run, but this attempt is not a failure."""
        if forgive:
            self.store.forgive(attempt.pair.key)
        else:
            self.store.release(attempt.pair, now)
        if attempt.network is not None:
            self.store.release(attempt.network, now)

    # --- per-network quotas of the unauthenticated endpoints that send email -------------------

    def signup(self, ip: str, now: dt.datetime) -> None:
        self._quota("signup", ip, self.cfg.signup_network_max, self.cfg.signup_window_s, now)

    def reset_request(self, ip: str, now: dt.datetime) -> None:
        self._quota("reset", ip, self.cfg.reset_network_max, self.cfg.reset_window_s, now)

    def _quota(self, kind: str, ip: str, limit: int, window_s: int, now: dt.datetime) -> None:
        """Count one request of `kind` from the client's network; Throttled past `limit`."""
        network = client_network(ip)
        if not network:
            return  # internal callers
        ends = self.store.take_window(f"{kind}-net:{network}", limit, now, window_s)
        if ends is not None:
            wait = max(1, math.ceil((ends - now).total_seconds()))
            raise Throttled(QUOTA_MESSAGES[kind], retry_after=wait)

    def forgive(self, email_key: str, ip: str, now: dt.datetime) -> None:
        """Start the (email, network) pair over (the owner proved who they are another way)."""
        self.store.forgive_window(pair_key(email_key, client_network(ip)), now, self.cfg.window_s)

    def check(self, attempt: Attempt, clock: Callable[[], dt.datetime], verify: Callable[[], bool]) -> bool:
        """Run the password check of a reserved attempt: a wrong password is counted, an error
        gives the slots back. Success is the caller's to settle (a second factor may follow)."""
        started = clock()
        try:
            ok = verify()
        except BaseException:
            self.abandoned(attempt, started)
            raise
        if not ok:
            self.failed(attempt, clock())
        return ok

    def abandoned(self, attempt: Attempt, now: dt.datetime) -> None:
        """Neither failed nor succeeded (an error before the check ended): give the slots back."""
        self.store.release(attempt.pair, now)
        if attempt.network is not None:
            self.store.release(attempt.network, now)
