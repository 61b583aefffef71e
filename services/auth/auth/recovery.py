"""Password change and reset (OWASP Forgot Password cheat sheet, ASVS 2.5, 6.4.3, 7.4.3).

A reset request answers identically whether or not the email has an account: the lookup, the
token and the email all happen on a background thread, so not even timing differs. The link
carries 256 random bits, is stored as a SHA-256 hash, works once and expires after 60 minutes.
With 2FA on, confirming also needs a TOTP or backup code: a reset never bypasses MFA."""

from __future__ import annotations

import datetime as dt
import logging

from svccommon.access_tokens import hash_token, new_opaque_token

from auth import emails
from auth.accounts import check_new_password, require
from auth.core import Core, client_ip, normalize_email
from auth.errors import BAD_CODE, FieldInvalid, Throttled
from auth.second_factor import WrongCode, check_code, totp_on

log = logging.getLogger("auth.recovery")

RESET_TTL_S = 3600
RESET_EMAILS_PER_HOUR = 5  # per account: stops the reset form being used to flood a mailbox
RESET_MAX_CODE_FAILURES = 5
BAD_RESET_LINK = "This reset link is invalid, has expired or was already used. Ask for a new one."
CODE_REQUIRED = "Two-factor authentication is on: enter a code from your authenticator app or a backup code."
BAD_CURRENT = "The current password is incorrect."


def change_password(core: Core, account_id: str, session_id: str, current: str, new: str) -> None:
    account = require(core, account_id)
    now = core.utcnow()
    attempt = core.limiter.reserve(account["email_key"], client_ip(), now)
    if not core.limiter.check(
        attempt, core.utcnow, lambda: core.hasher.verify(current, account["password_hash"])
    ):
        core.record("password.changed", "failure", account_id=account_id, reason="wrong_password")
        raise FieldInvalid("current_password", BAD_CURRENT, "password_incorrect")
    core.limiter.succeeded(attempt, now)
    check_new_password(new, "new_password")
    core.stores.accounts.set_password(account_id, core.hasher.hash(new), now, end_all=False)
    # This session stays; every other one ends (ASVS 7.4.3).
    core.stores.sessions.revoke_all(account_id, now, "password_changed", keep=session_id)
    core.stores.tokens.spend_all(account_id, "password_reset", now)
    core.record("password.changed", account_id=account_id)
    core.mail.notify(emails.password_changed(account["email"], "changed"))


def request_reset(core: Core, email: str) -> None:
    _, key = normalize_email(email)  # a malformed address is a 400 either way: it reveals nothing
    # Neither the quota nor a full mail queue depends on the address, so neither reveals anything.
    core.mail.require_room()
    try:
        core.limiter.reset_request(client_ip(), core.utcnow())
    except Throttled:
        core.record("password.reset_requested", "denied", anonymous=True, reason="rate_limited")
        raise
    core.mail.submit(_reset_job, core, key)


def _reset_job(core: Core, email_key: str) -> None:
    try:
        account = core.stores.accounts.by_email_key(email_key)
        if account is None:
            core.record("password.reset_requested", "failure", anonymous=True, reason="unknown_email")
            return
        now = core.utcnow()
        counter_key = f"reset_email:{account['_id']}"
        sent = core.stores.failures.count_since(
            counter_key, now - dt.timedelta(hours=1), RESET_EMAILS_PER_HOUR
        )
        if sent >= RESET_EMAILS_PER_HOUR:
            core.record(
                "password.reset_requested",
                "denied",
                account_id=account["_id"],
                anonymous=True,
                reason="rate_limited",
            )
            return
        core.stores.failures.record([counter_key], now, keep_s=3600)
        token = new_opaque_token()
        core.stores.tokens.insert(hash_token(token), "password_reset", account["_id"], now, RESET_TTL_S)
        url = emails.link(core.base_url, "/reset-password", token)
        core.mail.deliver(emails.password_reset(account["email"], url, RESET_TTL_S // 60))
        core.record("password.reset_requested", account_id=account["_id"], anonymous=True)
    except Exception as exc:
        log.error("password reset request failed", extra={"error_type": type(exc).__name__})


def confirm_reset(core: Core, token: str, new_password: str, code: str) -> None:
    token_hash, now = hash_token(token), core.utcnow()
    record = core.stores.tokens.find_live(token_hash, "password_reset", now) if token else None
    account = core.stores.accounts.get(record["account_id"]) if record else None
    if record is None or account is None:
        core.record("password.reset", "failure", anonymous=True, reason="token_invalid")
        raise FieldInvalid("token", BAD_RESET_LINK, "token_invalid")
    check_new_password(new_password, "new_password")
    account_id = account["_id"]
    if totp_on(account):
        if not code.strip():
            raise FieldInvalid("code", CODE_REQUIRED, "code_required")
        attempt = core.limiter.reserve(account["email_key"], client_ip(), now)
        try:
            check_code(core, account, code)
        except WrongCode:
            core.limiter.failed(attempt, core.utcnow())
            core.stores.tokens.add_failure(token_hash, RESET_MAX_CODE_FAILURES, now)
            core.record(
                "password.reset", "failure", account_id=account_id, anonymous=True, reason="wrong_code"
            )
            raise FieldInvalid("code", BAD_CODE, "code_invalid") from None
        except BaseException:
            core.limiter.abandoned(attempt, now)
            raise
        core.limiter.succeeded(attempt, now)
    if core.stores.tokens.spend(token_hash, "password_reset", now) is None:
        raise FieldInvalid("token", BAD_RESET_LINK, "token_invalid")
    # token_version moves on: every access and refresh token issued before now is dead.
    core.stores.accounts.set_password(account_id, core.hasher.hash(new_password), now, end_all=True)
    core.stores.sessions.revoke_all(account_id, now, "password_reset")
    core.stores.tokens.spend_all(account_id, "password_reset", now)
    core.stores.tokens.spend_all(account_id, "mfa_challenge", now)
    if not account.get("email_verified"):
        core.stores.accounts.mark_verified(account_id, now)  # the link proved the mailbox
    core.limiter.forgive(account["email_key"], client_ip(), now)  # the mailbox owner, on this network
    core.record("password.reset", account_id=account_id, anonymous=True)
    core.mail.notify(emails.password_changed(account["email"], "reset"))
