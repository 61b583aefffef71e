"""Alert emails (budgets, anomalies): the usage service composes them, auth delivers them, since
auth alone holds the mail provider's key.

Each call names its recipients (the account's own verified address and up to MAX_EXTRA_RECIPIENTS
more) and an idempotency key; an address already mailed under that key is skipped, so usage may
retry a call whose answer it lost. Sending is synchronous: usage learns whether the provider took
the message. A daily cap per account bounds what a runaway alert rule can send."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from svccommon.audit import Outcome
from svccommon.errors import FailedPrecondition, Unavailable

from auth import accounts, emails
from auth.core import Core, normalize_email
from auth.errors import FieldInvalid, Throttled

log = logging.getLogger("auth.alerts")

MAX_EXTRA_RECIPIENTS = 10
MAX_SUBJECT_LENGTH = 200
MAX_TEXT_LENGTH = 20_000
DAILY_CAP = 200  # alert emails (one per recipient) per account per UTC day
DAY_S = 86400  # throttle windows start at multiples of their length since the epoch: UTC midnights
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
PROVIDER_REFUSED = "The mail provider did not accept the message."


@dataclass(frozen=True)
class AlertDelivery:
    sent_to: list[str]  # mailed by this call
    already_sent_to: list[str]  # mailed by an earlier call with the same key


def send_alert_email(
    core: Core,
    account_id: str,
    *,
    to_owner: bool,
    to: Sequence[str],
    subject: str,
    text: str,
    key: str,
) -> AlertDelivery:
    _check_message(subject, text, key)
    extra = _extra_recipients(to)
    account = accounts.require(core, account_id)
    if not account.get("email_verified"):
        raise FailedPrecondition(
            "Alert emails can be sent only once the account's email address is verified."
        )
    owner = (account["email"], account["email_key"]) if to_owner else None
    recipients = _recipients(owner, extra)
    if not recipients:
        raise FieldInvalid("to", "Name at least one recipient of the alert email.", "recipients_required")

    done = core.stores.alert_emails.already_sent(key, recipients)
    pending = [(k, shown) for k, shown in recipients.items() if k not in done]
    already = [shown for k, shown in recipients.items() if k in done]
    reserved_at = _reserve(core, account_id, key, len(pending)) if pending else core.utcnow()
    sent: list[str] = []
    for index, (address_key, shown) in enumerate(pending):
        try:
            core.mail.send_now(emails.alert(shown, subject, text, core.base_url))
        except Exception:
            unsent = len(pending) - index
            # Into the day they were taken from, even if midnight has passed since.
            core.stores.throttles.give_back_window(_cap_key(account_id), unsent, reserved_at, DAY_S)
            _audit(core, account_id, key, "failure", sent_to=sent, already_sent_to=already, unsent=unsent)
            raise Unavailable(PROVIDER_REFUSED) from None
        core.stores.alert_emails.mark_sent(key, address_key, account_id, core.utcnow())
        sent.append(shown)
    if sent:
        _audit(core, account_id, key, "success", sent_to=sent, already_sent_to=already)
    return AlertDelivery(sent_to=sent, already_sent_to=already)


def _check_message(subject: str, text: str, key: str) -> None:
    if not KEY_PATTERN.fullmatch(key):
        raise FieldInvalid(
            "idempotency_key",
            "The idempotency key must be 1 to 200 letters, digits or the characters _ . : -",
            "idempotency_key_invalid",
        )
    if not subject.strip():
        raise FieldInvalid("subject", "The alert email needs a subject.", "subject_required")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise FieldInvalid(
            "subject", f"The subject can be at most {MAX_SUBJECT_LENGTH} characters.", "subject_too_long"
        )
    # isprintable() is False for CR, LF and every other control character: no header injection.
    if not subject.isprintable():
        raise FieldInvalid("subject", "The subject cannot contain line breaks or control characters.")
    if not text.strip():
        raise FieldInvalid("text", "The alert email needs a text.", "text_required")
    if len(text) > MAX_TEXT_LENGTH:
        raise FieldInvalid("text", f"The text can be at most {MAX_TEXT_LENGTH} characters.", "text_too_long")


def _extra_recipients(to: Sequence[str]) -> list[tuple[str, str]]:
    """(display form, lookup key) of each further address, validated like sign-up addresses."""
    if len(to) > MAX_EXTRA_RECIPIENTS:
        raise FieldInvalid(
            "to", f"At most {MAX_EXTRA_RECIPIENTS} further addresses can get an alert.", "too_many_recipients"
        )
    return [normalize_email(address, "to") for address in to]


def _recipients(owner: tuple[str, str] | None, extra: list[tuple[str, str]]) -> dict[str, str]:
    """Lookup key -> display form, the owner first; one entry per mailbox."""
    recipients: dict[str, str] = {}
    if owner is not None:
        recipients[owner[1]] = owner[0]
    for shown, address_key in extra:
        recipients.setdefault(address_key, shown)
    return recipients


def _cap_key(account_id: str) -> str:
    return f"alert_email:{account_id}"


def _reserve(core: Core, account_id: str, key: str, count: int) -> dt.datetime:
    """Take `count` of today's alert emails; when they were taken."""
    now = core.utcnow()
    ends = core.stores.throttles.take_window(_cap_key(account_id), DAILY_CAP, now, DAY_S, count)
    if ends is not None:
        _audit(core, account_id, key, "denied", reason="daily_cap", unsent=count)
        raise Throttled(
            f"This account has reached its limit of {DAILY_CAP} alert emails for today (UTC).",
            max(1, math.ceil((ends - now).total_seconds())),
        )
    return now


def _audit(core: Core, account_id: str, key: str, outcome: Outcome, **details: Any) -> None:
    """One `alert.email_sent` event about the alert `key`. The addresses are the account's own data
    (it chose them), so its audit log shows them."""
    if "sent_to" in details:
        details = {"recipients": len(details["sent_to"]), **details}
    core.audit.record(
        "alert.email_sent",
        outcome=outcome,
        account_id=account_id,
        actor="service:usage",  # the only caller the allowlist admits
        target_type="alert",
        target_id=key,
        details=details,
    )
