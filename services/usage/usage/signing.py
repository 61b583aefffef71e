"""Webhook signatures, the scheme documented for users (like Stripe's).

Each delivery carries `AICosts-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
The key is the whole secret string as UTF-8 (prefix included). While a secret is being rotated the header
carries one v1 entry per secret, and a receiver accepts the body when any entry matches its secret. The
timestamp is signed too, so a receiver that refuses old timestamps also refuses replays.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

SIGNATURE_HEADER = "AICosts-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_TOLERANCE_S = 300
_MAX_HEADER_LENGTH = 4096  # a few rotated signatures fit many times over; anything longer is not ours


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature_header(
    secret: str, body: bytes, timestamp: int, *, previous_secrets: Sequence[str] = ()
) -> str:
    """The header value for body sent at timestamp; previous_secrets add entries during a rotation."""
    entries = [f"t={int(timestamp)}"]
    entries += [f"v1={_sign(s, body, int(timestamp))}" for s in (secret, *previous_secrets)]
    return ",".join(entries)


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = DEFAULT_TOLERANCE_S) -> bool:
    """True when header holds a v1 signature of body by secret, made within tolerance_s of now."""
    parsed = _parse(header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    if abs(now - timestamp) > tolerance_s:  # too old (a replay) or from a clock far ahead
        return False
    expected = _sign(secret, body, timestamp)
    # Compare every entry, constant-time each, so timing tells nothing about which one matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    return any(matches)


def _sign(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _parse(header: str) -> tuple[int, list[str]] | None:
    """(timestamp, v1 signatures) of a header, or None unless it has exactly one t and at least one v1."""
    if not header or len(header) > _MAX_HEADER_LENGTH or not header.isascii():
        return None  # compare_digest refuses non-ASCII strings: junk is simply not a signature
    timestamps, signatures = [], []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
        # other schemes (v0, a future v2) are ignored, as a receiver should
    if len(timestamps) != 1 or not signatures:
        return None
    t = timestamps[0]
    if not (t.isascii() and t.isdigit()) or len(t) > 12:
        return None
    return int(t), signatures
