"""What every auth use case needs, built once per process: stores, hasher, limiter, mail, the
keyvault secret box, the audit log, the signing key and the clock (injectable for tests)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from email_validator import EmailNotValidError, validate_email
from svccommon import context
from svccommon.audit import AuditLog, Outcome

from auth.clients.keyvault_secretbox import SecretBox
from auth.errors import FieldInvalid
from auth.hashing import PasswordHasher
from auth.mailer import MailQueue
from auth.ratelimit import LoginLimiter
from auth.store import Stores

Doc = dict[str, Any]
MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit


@dataclass
class Core:
    stores: Stores
    hasher: PasswordHasher
    limiter: LoginLimiter
    mail: MailQueue
    box: SecretBox
    audit: AuditLog
    signing_key: Ed25519PrivateKey
    access_ttl_s: int
    session_ttl_s: int
    base_url: str
    clock: Callable[[], float] = field(default=time.time)

    def now(self) -> float:
        return self.clock()

    def utcnow(self) -> dt.datetime:
        return to_utc(self.clock())

    def record(
        self,
        action: str,
        outcome: Outcome = "success",
        *,
        account_id: str | None = None,
        anonymous: bool = False,
        target_type: str = "account",
        target_id: str = "",
        **details: Any,
    ) -> None:
        """One audit event. `anonymous`: the caller has not proved who they are (yet)."""
        self.audit.record(
            action,
            outcome=outcome,
            account_id=account_id,
            actor="anonymous" if anonymous else None,
            target_type=target_type,
            target_id=target_id or account_id or "",
            details=details or None,
        )


def to_utc(ts: float) -> dt.datetime:
    # Millisecond precision: what BSON dates keep, so values compare equal after a round trip.
    return dt.datetime.fromtimestamp(round(ts, 3), dt.UTC)


def client_ip() -> str:
    return context.current().client_ip


def normalize_email(email: str, field_name: str = "email") -> tuple[str, str]:
    """(display form, lookup key). The key is case-folded so one mailbox means one account."""
    if len(email) > MAX_EMAIL_LENGTH:
        raise FieldInvalid(field_name, "The email address is too long.", "email_too_long")
    try:
        normalized = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise FieldInvalid(field_name, f"This is not a valid email address: {exc}", "email_invalid") from None
    return normalized, normalized.lower()


def lookup_key(email: str) -> str:
    """The lookup key for a sign-in attempt; malformed input still gets a key (and a limit)."""
    try:
        return normalize_email(email)[1]
    except FieldInvalid:
        return email.strip().lower()[:MAX_EMAIL_LENGTH]
