"""The configured password hasher: passwords.py at the configured cost, counting its bcrypt work.

The counters exist so tests can prove a mechanism (a throttled login does no bcrypt work; an
unknown email costs exactly one check at the configured cost) without timing assertions.
"""

from __future__ import annotations

import threading
from collections import Counter

from auth import passwords


class PasswordHasher:
    def __init__(self, cost: int) -> None:
        self.cost = passwords.require_config_cost(cost)
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def _count(self, kind: str) -> None:
        with self._lock:
            self.calls[kind] += 1

    def warm_up(self) -> None:
        """Compute the dummy hash now, so the first unknown-email login is not slower than later ones."""
        passwords.dummy_verify(cost=self.cost)

    def hash(self, password: str) -> str:
        self._count("hash")
        return passwords.hash_password(password, cost=self.cost)

    def verify(self, password: str, password_hash: str) -> bool:
        self._count("verify")
        return passwords.verify_password(password, password_hash)

    def dummy_verify(self) -> None:
        """One bcrypt check at the configured cost against nothing (unknown email: ASVS 6.3.8)."""
        self._count("dummy")
        passwords.dummy_verify(cost=self.cost)

    def needs_rehash(self, password_hash: str) -> bool:
        return passwords.needs_rehash(password_hash, cost=self.cost)

    @property
    def bcrypt_checks(self) -> int:
        """Every bcrypt computation so far (hashes, verifications and dummy verifications)."""
        with self._lock:
            return sum(self.calls.values())
