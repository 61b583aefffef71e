"""Accounts: signup, email verification, profile. The account's one user is its "owner"."""

from __future__ import annotations

import datetime as dt
import logging
import math
import unicodedata
import uuid
from collections.abc import Callable

from svccommon.access_tokens import hash_token, new_opaque_token
from svccommon.errors import FailedPrecondition, NotFound

from auth import emails
from auth.core import Core, Doc, client_ip, normalize_email
from auth.errors import FieldInvalid, MailQueueFull, Throttled
from auth.mailer import Message
from auth.passwords import PasswordPolicyError, validate_new_password

log = logging.getLogger("auth.accounts")

VERIFY_TTL_S = 24 * 3600
UNVERIFIED_TTL_S = 7 * 86400  # an account not confirmed within a week is deleted
SIGNUP_NOTICES_PER_HOUR = 3
RESENDS_PER_HOUR = 5
RESEND_WINDOW_S = 3600
MAX_NAME_LENGTH = 100
DEFAULT_PLAN = "free"
OWNER = "owner"
BAD_VERIFY_LINK = "This verification link is invalid, has expired or was already used."


def clean_name(name: str) -> str:
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise FieldInvalid("name", "Enter your name.", "name_required")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise FieldInvalid("name", f"The name can be at most {MAX_NAME_LENGTH} characters.", "name_too_long")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in cleaned):
        raise FieldInvalid("name", "The name cannot contain control characters.", "name_invalid")
    return cleaned


def check_new_password(password: str, field: str) -> None:
    try:
        validate_new_password(password)
    except PasswordPolicyError as exc:
        raise FieldInvalid(field, exc.message, exc.code) from None


def require(core: Core, account_id: str) -> Doc:
    account = core.stores.accounts.get(account_id)
    if account is None:
        raise NotFound("The account does not exist.")
    return account


def signup(core: Core, email: str, password: str, name: str) -> None:
    """Create an unverified account and mail its verification link. An address that already has an
    account gets the same answer and the same work (ASVS 6.3.8); its owner is told by email."""
    display, key = normalize_email(email)
    cleaned = clean_name(name)
    check_new_password(password, "password")
    now = core.utcnow()
    core.mail.require_room()  # both outcomes mail someone: refuse both alike while the queue is full
    try:
        core.limiter.signup(client_ip(), now)
    except Throttled:
        core.record("account.signup", "denied", anonymous=True, reason="rate_limited")
        raise
    password_hash = core.hasher.hash(password)  # for a taken address too: the same bcrypt time
    core.stores.accounts.delete_expired_unverified(key, now)
    existing = core.stores.accounts.by_email_key(key)
    account: Doc = {
        "_id": uuid.uuid4().hex,
        "email": display,
        "email_key": key,
        "name": cleaned,
        "role": OWNER,
        "plan": DEFAULT_PLAN,
        "email_verified": False,
        "unverified_expires_at": now + dt.timedelta(seconds=UNVERIFIED_TTL_S),
        "password_hash": password_hash,
        "token_version": 0,
        "created_at": now,
        "updated_at": now,
        # Filled by the payments work (Stripe customer, subscription); kept here with the plan.
        "billing": {},
    }
    # Tried even when the address is known to be taken, so both paths send the same commands.
    if core.stores.accounts.insert(account):
        core.record("account.signup", account_id=account["_id"])
        _queue(core, _verification_job, account)
        return
    existing = existing or core.stores.accounts.by_email_key(key)
    owner_id = existing["_id"] if existing else None
    core.record("account.signup", "failure", account_id=owner_id, anonymous=True, reason="email_taken")
    _queue(core, _tell_owner_job, existing)


def _queue(core: Core, job: Callable[[Core, Doc | None], None], account: Doc | None) -> None:
    try:
        core.mail.submit(job, core, account)
    except MailQueueFull:  # filled up since require_room: the user can ask for the link again
        log.error("signup email not queued: the mail queue is full")


def _verification_job(core: Core, account: Doc | None) -> None:
    try:
        if account is not None:
            core.mail.deliver(_verification_message(core, account))  # already on a mail thread
    except Exception as exc:
        log.error("verification email failed", extra={"error_type": type(exc).__name__})


def _tell_owner_job(core: Core, account: Doc | None) -> None:
    """Mail the owner of a taken address, a few times an hour at most (no mailbox flooding)."""
    try:
        if account is None:
            return
        now, key = core.utcnow(), f"signup_notice:{account['_id']}"
        since = now - dt.timedelta(seconds=RESEND_WINDOW_S)
        if core.stores.failures.count_since(key, since, SIGNUP_NOTICES_PER_HOUR) >= SIGNUP_NOTICES_PER_HOUR:
            return
        core.stores.failures.record([key], now, keep_s=RESEND_WINDOW_S)
        core.mail.deliver(emails.signup_attempt(account["email"]))
    except Exception as exc:
        log.error("signup notice failed", extra={"error_type": type(exc).__name__})


def expired_unverified(account: Doc, now: dt.datetime) -> bool:
    """Unconfirmed for UNVERIFIED_TTL_S: treated as gone even before the TTL monitor removes it."""
    if account.get("email_verified"):
        return False
    expires = account.get("unverified_expires_at") or (
        account["created_at"] + dt.timedelta(seconds=UNVERIFIED_TTL_S)
    )
    return expires <= now


def _verification_message(core: Core, account: Doc) -> Message:
    token = new_opaque_token()
    core.stores.tokens.insert(hash_token(token), "verify_email", account["_id"], core.utcnow(), VERIFY_TTL_S)
    url = emails.link(core.base_url, "/verify-email", token)
    return emails.verification(account["email"], account["name"], url, VERIFY_TTL_S // 3600)


def send_verification(core: Core, account: Doc) -> None:
    core.mail.send(_verification_message(core, account))


def resend_verification(core: Core, account_id: str) -> None:
    account = require(core, account_id)
    if account.get("email_verified"):
        raise FailedPrecondition("This email address is already verified.")
    core.mail.require_room()
    # A few per hour: enough for a lost email, too few to flood the mailbox.
    now, key = core.utcnow(), f"verify_email:{account_id}"
    since = now - dt.timedelta(seconds=RESEND_WINDOW_S)
    if core.stores.failures.count_since(key, since, RESENDS_PER_HOUR) >= RESENDS_PER_HOUR:
        oldest = core.stores.failures.oldest_since(key, since) or now
        wait = (oldest + dt.timedelta(seconds=RESEND_WINDOW_S) - now).total_seconds()
        raise Throttled(
            "Too many verification emails. Wait a while before asking again.", max(1, math.ceil(wait))
        )
    core.stores.failures.record([key], now, keep_s=RESEND_WINDOW_S)
    send_verification(core, account)
    core.record("account.verification_resent", account_id=account_id)


def verify_email(core: Core, token: str) -> Doc:
    now = core.utcnow()
    spent = core.stores.tokens.spend(hash_token(token), "verify_email", now) if token else None
    if spent is None:
        core.record("account.email_verified", "failure", anonymous=True, target_type="token")
        raise FieldInvalid("token", BAD_VERIFY_LINK, "token_invalid")
    account = core.stores.accounts.mark_verified(spent["account_id"], now)
    if account is None:
        raise FieldInvalid("token", BAD_VERIFY_LINK, "token_invalid")
    core.record("account.email_verified", account_id=account["_id"])
    return account


def update_name(core: Core, account_id: str, name: str) -> Doc:
    cleaned = clean_name(name)
    account = core.stores.accounts.set_name(account_id, cleaned, core.utcnow())
    if account is None:
        raise NotFound("The account does not exist.")
    core.record("account.updated", account_id=account_id, fields=["name"])
    return account
