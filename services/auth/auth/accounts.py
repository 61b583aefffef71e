"""Accounts: signup, email verification, profile. The account's one user is its "owner"."""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
import uuid

from svccommon.access_tokens import hash_token, new_opaque_token
from svccommon.errors import AlreadyExists, FailedPrecondition, NotFound

from auth import emails
from auth.core import Core, Doc, normalize_email
from auth.errors import FieldInvalid, Throttled
from auth.passwords import PasswordPolicyError, validate_new_password

VERIFY_TTL_S = 24 * 3600
RESENDS_PER_HOUR = 5
RESEND_WINDOW_S = 3600
MAX_NAME_LENGTH = 100
DEFAULT_PLAN = "free"
OWNER = "owner"
EMAIL_TAKEN = "An account with this email address already exists. Sign in, or reset your password."
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


def signup(core: Core, email: str, password: str, name: str) -> Doc:
    display, key = normalize_email(email)
    cleaned = clean_name(name)
    check_new_password(password, "password")
    now = core.utcnow()
    account: Doc = {
        "_id": uuid.uuid4().hex,
        "email": display,
        "email_key": key,
        "name": cleaned,
        "role": OWNER,
        "plan": DEFAULT_PLAN,
        "email_verified": False,
        "password_hash": core.hasher.hash(password),
        "token_version": 0,
        "created_at": now,
        "updated_at": now,
        # Filled by the payments work (Stripe customer, subscription); kept here with the plan.
        "billing": {},
    }
    if not core.stores.accounts.insert(account):
        core.record("account.signup", "failure", anonymous=True, reason="email_taken")
        raise AlreadyExists(EMAIL_TAKEN)
    core.record("account.signup", account_id=account["_id"])
    send_verification(core, account)
    return account


def send_verification(core: Core, account: Doc) -> None:
    token = new_opaque_token()
    core.stores.tokens.insert(hash_token(token), "verify_email", account["_id"], core.utcnow(), VERIFY_TTL_S)
    url = emails.link(core.base_url, "/verify-email", token)
    core.mail.send(emails.verification(account["email"], account["name"], url, VERIFY_TTL_S // 3600))


def resend_verification(core: Core, account_id: str) -> None:
    account = require(core, account_id)
    if account.get("email_verified"):
        raise FailedPrecondition("This email address is already verified.")
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
