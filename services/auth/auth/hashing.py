"""The configured password hasher: passwords.py at the configured cost, counting its bcrypt work.

The counters exist so tests can prove a mechanism (a throttled login does no bcrypt work; an
unknown email costs exactly one check at the configured cost) without timing assertions.

Every bcrypt computation takes one of `slots` (the cores this process may use): a burst of
sign-ins then finishes one after another instead of all sharing the cores and all finishing late
together. The load bench found that: eight sign-ins at once on two busy cores each took 5-7 s, so
the gateway's 5 s deadline failed every one of them with 503 while auth went on to create the
sessions nobody received. A computation that cannot get a slot within `wait_s` (below the
gateway's deadline) is refused with Unavailable (503 + Retry-After) before any work is done.
Every kind of computation waits alike, so the wait tells nothing about whether an email exists.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from svccommon.errors import Unavailable

from auth import passwords

BUSY = "sign-in is busy right now; try again in a few seconds"
DEFAULT_WAIT_S = 3.0


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


class PasswordHasher:
    def __init__(self, cost: int, slots: int | None = None, wait_s: float = DEFAULT_WAIT_S) -> None:
        self.cost = passwords.require_config_cost(cost)
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self._slots = threading.BoundedSemaphore(slots or available_cores())
        self.wait_s = wait_s

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One bcrypt computation's turn; Unavailable when none comes free within wait_s."""
        if not self._slots.acquire(timeout=self.wait_s):
            self._count("refused_busy")
            raise Unavailable(BUSY)
        try:
            yield
        finally:
            self._slots.release()

    def _count(self, kind: str) -> None:
        with self._lock:
            self.calls[kind] += 1

    def warm_up(self) -> None:
        """Compute the dummy hash now, so the first unknown-email login is not slower than later ones."""
        passwords.dummy_verify(cost=self.cost)

    def hash(self, password: str) -> str:
        with self.slot():
            self._count("hash")
            return passwords.hash_password(password, cost=self.cost)

    def verify(self, password: str, password_hash: str) -> bool:
        with self.slot():
            self._count("verify")
            return passwords.verify_password(password, password_hash)

    def dummy_verify(self) -> None:
        """One bcrypt check at the configured cost against nothing (unknown email: ASVS 6.3.8)."""
        with self.slot():
            self._count("dummy")
            passwords.dummy_verify(cost=self.cost)

    def needs_rehash(self, password_hash: str) -> bool:
        return passwords.needs_rehash(password_hash, cost=self.cost)

    @property
    def bcrypt_checks(self) -> int:
        """Every bcrypt computation so far (hashes, verifications and dummy verifications)."""
        with self._lock:
            return sum(n for kind, n in self.calls.items() if kind != "refused_busy")
