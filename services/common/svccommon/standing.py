"""What an account whose email address is not confirmed yet may not do, said the same way by every
service that refuses it (auth for 2FA, keyvault for provider keys, parser for uploads). keyvault
and parser ask auth for the state themselves (svccommon.accountinfo gives a Standing: plan and
verified state); each service decides."""

from __future__ import annotations

from dataclasses import dataclass

from svccommon.plans import Plan

UNVERIFIED_STATUS = "403"
UNVERIFIED_KIND = "email-unverified"


def unverified_detail(action: str) -> str:
    """`action` completes "Confirm your email address before ...", e.g. "storing provider keys"."""
    return (
        f"Confirm your email address before {action}: open the link in the verification email "
        "(POST /v1/me/email-verification sends a new one)."
    )


def unverified_metadata() -> tuple[tuple[str, str], ...]:
    """Trailing metadata that makes the gateway answer 403 with kind "email-unverified"."""
    return (("x-problem-status", UNVERIFIED_STATUS), ("x-problem-kind", UNVERIFIED_KIND))


@dataclass(frozen=True)
class Standing:
    """What a service that gates an action needs to know about the account (from auth)."""

    plan: Plan
    email_verified: bool
