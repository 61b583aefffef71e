"""Password hashing (bcrypt) and the new-password policy. Pure: no I/O except the bundled word list.

Cost policy: the hash functions accept any cost bcrypt supports (4..31) so tests can run at cost 4.
The ASVS floor of 10 is enforced where the cost is configured: the auth config layer must pass the
configured value through `require_config_cost` (or `env_int(..., minimum=MIN_CONFIG_COST)`).
"""

from __future__ import annotations

import functools
import re
import secrets
from pathlib import Path

import bcrypt

DEFAULT_COST = 12
MIN_CONFIG_COST = 10  # ASVS 4.0.3 2.4.4 / 5.0 App. C: bcrypt work factor of at least 10
MIN_BCRYPT_COST = 4  # what the library accepts; only tests should go below MIN_CONFIG_COST
MAX_BCRYPT_COST = 31

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt only ever reads 72 bytes; pyca bcrypt 5 raises instead of truncating

_COMMON_FILE = Path(__file__).parent / "data" / "common_passwords.txt"
_HASH_PREFIX = re.compile(r"^\$2[aby]\$(\d{2})\$")


class PasswordPolicyError(ValueError):
    """A new password breaks the policy. `message` is safe to show to the user; `code` is for clients."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def require_config_cost(cost: int) -> int:
    """Config-layer guard: refuse a configured cost below the ASVS floor (or beyond bcrypt's range)."""
    if not MIN_CONFIG_COST <= cost <= MAX_BCRYPT_COST:
        raise ValueError(f"bcrypt cost must be between {MIN_CONFIG_COST} and {MAX_BCRYPT_COST}, got {cost}")
    return cost


def _check_cost(cost: int) -> None:
    if not MIN_BCRYPT_COST <= cost <= MAX_BCRYPT_COST:
        raise ValueError(f"bcrypt cost must be between {MIN_BCRYPT_COST} and {MAX_BCRYPT_COST}, got {cost}")


@functools.cache
def _common_passwords() -> frozenset[str]:
    # Loaded once per process; lower-cased so "Password1" and "PASSWORD1" both match.
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_common_password(password: str) -> bool:
    return password.strip().lower() in _common_passwords()


def _too_long(size: int) -> PasswordPolicyError:
    return PasswordPolicyError(
        f"Password is too long: it can be at most {MAX_BYTES} bytes in UTF-8, and this one is "
        f"{size} bytes. Plain English letters, digits and symbols take 1 byte each, but accented "
        "letters, other scripts and emoji take 2 to 4 bytes each, so fewer characters fit. "
        "Please choose a shorter password.",
        "password_too_long",
    )


def validate_new_password(password: str) -> None:
    """Raise PasswordPolicyError if `password` may not be set. Checked exactly as typed: no trimming."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(
            f"Password must be at least {MIN_LENGTH} characters long.", "password_too_short"
        )
    size = len(password.encode("utf-8"))
    if size > MAX_BYTES:
        raise _too_long(size)
    if is_common_password(password):
        raise PasswordPolicyError(
            "This password is too common and easy to guess. Please choose a different one.",
            "password_too_common",
        )


def hash_password(password: str, *, cost: int = DEFAULT_COST) -> str:
    """bcrypt `$2b$` hash. Call validate_new_password first; over-long input raises PasswordPolicyError."""
    _check_cost(cost)
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_BYTES:
        # Never truncate and never let bcrypt's ValueError escape as a 500.
        raise _too_long(len(encoded))
    return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds=cost, prefix=b"2b")).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True iff `password` matches. Never raises: long input or a malformed hash just fails."""
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_BYTES:
        # Cannot match a stored hash (we never stored such a password); still spend the bcrypt time
        # so that the response time does not depend on the input length.
        cost = hash_cost(password_hash)
        dummy_verify(cost=cost if cost and MIN_BCRYPT_COST <= cost <= MAX_BCRYPT_COST else DEFAULT_COST)
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False


def hash_cost(password_hash: str) -> int | None:
    """The cost recorded in a bcrypt hash, or None if it is not one."""
    match = _HASH_PREFIX.match(password_hash)
    return int(match.group(1)) if match else None


def needs_rehash(password_hash: str, *, cost: int = DEFAULT_COST) -> bool:
    """True when a stored hash is weaker than the configured cost (rehash after a successful login)."""
    current = hash_cost(password_hash)
    return current is None or current < cost or not password_hash.startswith("$2b$")


@functools.cache
def _dummy_hash(cost: int) -> bytes:
    # Random password so the dummy can never match anything.
    return bcrypt.hashpw(secrets.token_bytes(32).hex().encode(), bcrypt.gensalt(rounds=cost))


def dummy_verify(*, cost: int = DEFAULT_COST) -> None:
    """Burn one bcrypt check at `cost` for unknown emails so timing does not reveal accounts (ASVS 6.3.8).

    The first call per cost also computes the dummy hash; call it once at start-up to warm the cache.
    """
    _check_cost(cost)
    bcrypt.checkpw(b"not-a-real-password", _dummy_hash(cost))
