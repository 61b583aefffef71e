"""RFC 6238 TOTP (via pyotp) with replay protection, QR rendering and bcrypt-hashed backup codes.

Time is always passed in as Unix seconds (`now: float`) so callers own the clock and tests need no
sleeping or monkeypatching. pyotp's verify() accepts the same code twice, so the caller stores the
step returned by `match_step` and passes it back as `last_used_step` (RFC 6238 §5.2, ASVS 6.5.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Sequence

import pyotp
import segno

from auth.passwords import MIN_CONFIG_COST, hash_password, verify_password

INTERVAL = 30
DIGITS = 6
WINDOW = 1  # accept one step of clock drift either side, and no more (RFC 6238 §5.2, §6)
ISSUER = "AICosts"

_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_SPACES = re.compile(r"[\s-]+")
# ASCII digits only: str.isdigit() would also accept other scripts' digits.
_CODE = re.compile(rf"[0-9]{{{DIGITS}}}")

BACKUP_CODE_COUNT = 10
BACKUP_CODE_LENGTH = 10  # 10 base32 characters = 50 bits, so they are stored as bcrypt hashes
# Crockford base32: no I, L, O or U, so codes are easy to read aloud and type.
_BACKUP_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BACKUP_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# A wrong code is checked against every remaining hash, so these use the ASVS floor rather than the
# password cost: 10 checks at cost 12 would take seconds per attempt.
BACKUP_CODE_COST = MIN_CONFIG_COST


def new_secret() -> str:
    """A fresh base32 seed of 160 bits from the OS CSPRNG (RFC 4226 §4 recommends 160 bits)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def _totp(secret: str, *, digits: int = DIGITS, digest: str = "sha1") -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, digest=_DIGESTS[digest], interval=INTERVAL)


def code_at(secret: str, for_time: float, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """The code for the step containing `for_time` (tests and RFC vectors use the keyword options)."""
    return _totp(secret, digits=digits, digest=digest).at(for_time)


def step_at(for_time: float) -> int:
    """The RFC 6238 time step (counter) containing `for_time`."""
    return int(for_time // INTERVAL)


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    """otpauth:// URI for authenticator apps (Google Key Uri Format)."""
    return _totp(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as a standalone SVG QR code (with its namespace, so it also works as an image or
    a file; no XML declaration), for the 2FA setup screen."""
    out = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(out, kind="svg", xmldecl=False, scale=4, nl=False)
    return out.getvalue().decode()


def _normalize_code(code: str) -> str | None:
    cleaned = _SPACES.sub("", code)
    return cleaned if _CODE.fullmatch(cleaned) else None


def _matching_steps(secret: str, code: str, now: float) -> list[int]:
    """Every step in the ±WINDOW window whose code equals `code` (compared in constant time)."""
    normalized = _normalize_code(code)
    if normalized is None:
        return []
    totp = _totp(secret)
    current = totp.timecode(now)
    matches = []
    for offset in range(-WINDOW, WINDOW + 1):
        if current + offset < 0:
            continue
        expected = totp.at(now, counter_offset=offset)
        if hmac.compare_digest(expected.encode(), normalized.encode()):
            matches.append(current + offset)
    return matches


def match_step(secret: str, code: str, now: float, last_used_step: int | None) -> int | None:
    """The step `code` belongs to, or None if it is wrong, outside ±1 step, or already used.

    Steps <= `last_used_step` are rejected (replay). Store the returned step as the new
    `last_used_step`. If two steps in the window share a code, the latest is returned so the same
    code cannot be accepted again later in the window.
    """
    fresh = [s for s in _matching_steps(secret, code, now) if last_used_step is None or s > last_used_step]
    return max(fresh) if fresh else None


def is_replay(secret: str, code: str, now: float, last_used_step: int | None) -> bool:
    """True when `code` was valid in the window but its step was already used: log it, notify the user."""
    if last_used_step is None:
        return False
    steps = _matching_steps(secret, code, now)
    return bool(steps) and all(s <= last_used_step for s in steps)


def new_backup_codes(n: int = BACKUP_CODE_COUNT) -> list[str]:
    """`n` single-use codes for display, like `7KQ2M-X9DHT`. Show once; store only their hashes."""
    codes = []
    for _ in range(n):
        raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize_backup_code(code: str) -> str | None:
    """Canonical form (upper case, no dashes or spaces, O→0, I/L→1), or None if it cannot be a code."""
    cleaned = _SPACES.sub("", code).upper().translate(_BACKUP_CONFUSABLES)
    if len(cleaned) != BACKUP_CODE_LENGTH or any(c not in _BACKUP_ALPHABET for c in cleaned):
        return None
    return cleaned


def hash_backup_codes(codes: Sequence[str], *, cost: int = BACKUP_CODE_COST) -> list[str]:
    """bcrypt hashes of the canonical codes, in the same order (ASVS 6.5.2: < 112 bits → salted hash)."""
    hashes = []
    for code in codes:
        normalized = normalize_backup_code(code)
        if normalized is None:
            raise ValueError("not a backup code")
        hashes.append(hash_password(normalized, cost=cost))
    return hashes


def verify_backup_code(code: str, hashes: Sequence[str | None]) -> int | None:
    """Index of the unused hash matching `code`, or None. Spent slots are None and never match."""
    normalized = normalize_backup_code(code)
    if normalized is None:
        return None
    for index, stored in enumerate(hashes):
        if stored is not None and verify_password(normalized, stored):
            return index
    return None


def spend_backup_code(hashes: Sequence[str | None], index: int) -> list[str | None]:
    """A copy of `hashes` with slot `index` spent. The store must write it conditionally (only if
    the slot still holds the old hash) so two concurrent logins cannot both use one code."""
    if hashes[index] is None:
        raise ValueError("backup code already used")
    spent = list(hashes)
    spent[index] = None
    return spent
