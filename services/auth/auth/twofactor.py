"""Turning TOTP 2FA on and off, and replacing backup codes (ASVS 7.5.1: re-authentication for MFA
changes). Each step needs the password again, and once 2FA is on a current code too, so a stolen
access token alone cannot enrol another authenticator or remove the owner's. Only an account with a
confirmed email address may turn 2FA on. Every change ends the account's other sessions and mails
a notice to the account's address."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from svccommon.errors import AlreadyExists, FailedPrecondition

from auth import emails, totp
from auth.accounts import require
from auth.core import Core, Doc, client_ip
from auth.errors import BAD_CODE, EmailUnverified, FieldInvalid, Throttled
from auth.ratelimit import Attempt
from auth.second_factor import WrongCode, check_code, totp_on

ALREADY_ON = "Two-factor authentication is already on. Turn it off first to set it up again."
NOT_ON = "Two-factor authentication is not on for this account."
NO_SETUP = "Start the two-factor setup first: no setup is waiting for confirmation."
SETUP_EXPIRED = "The two-factor setup has expired. Start it again."
BAD_SETUP_CODE = "The code is incorrect. Enter the current code from your authenticator app."
BAD_PASSWORD = "The password is incorrect."  # noqa: S105 (a message)
PASSWORD_REQUIRED = "Enter your password to change two-factor authentication."  # noqa: S105
SETUP_TTL_S = 15 * 60  # a scanned secret left unconfirmed this long must be set up again
UNVERIFIED_ACTION = "turning on two-factor authentication"


@dataclass(frozen=True)
class Setup:
    secret: str
    otpauth_uri: str
    qr_svg: str


def setup(core: Core, account_id: str, password: str) -> Setup:
    account = _verified_owner(core, account_id, "mfa.setup_started")
    if totp_on(account):
        raise AlreadyExists(ALREADY_ON)
    core.limiter.succeeded(_check_password(core, account, password, "mfa.setup_started"), core.utcnow())
    secret = totp.new_secret()
    if (
        core.stores.accounts.set_totp_pending(account_id, core.box.encrypt(account_id, secret), core.utcnow())
        is None
    ):
        raise AlreadyExists(ALREADY_ON)
    uri = totp.provisioning_uri(secret, account["email"])
    core.record("mfa.setup_started", account_id=account_id)
    return Setup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


def confirm(core: Core, account_id: str, session_id: str, password: str, code: str) -> list[str]:
    account = _verified_owner(core, account_id, "mfa.enabled")
    if totp_on(account):
        raise AlreadyExists(ALREADY_ON)
    state = account.get("totp") or {}
    pending = state.get("pending")
    if not pending:
        raise FailedPrecondition(NO_SETUP)
    if state.get("pending_at") and state["pending_at"] + dt.timedelta(seconds=SETUP_TTL_S) <= core.utcnow():
        raise FailedPrecondition(SETUP_EXPIRED)
    core.limiter.succeeded(_check_password(core, account, password, "mfa.enabled"), core.utcnow())
    # Not a sign-in secret (only whoever set up the pending seed can know it): a wrong code is a
    # typo to correct, not a failure to throttle.
    step = totp.match_step(core.box.decrypt(account_id, pending), code, core.now(), None)
    if step is None:
        core.record("mfa.enabled", "failure", account_id=account_id, reason="wrong_code")
        raise FieldInvalid("code", BAD_SETUP_CODE, "code_invalid")
    codes = totp.new_backup_codes()
    now = core.utcnow()
    if (
        core.stores.accounts.enable_totp(account_id, pending, step, totp.hash_backup_codes(codes), now)
        is None
    ):
        raise FailedPrecondition(NO_SETUP)  # a concurrent setup replaced the seed
    _end_other_sessions(core, account_id, session_id, "mfa_enabled")
    core.record("mfa.enabled", account_id=account_id)
    core.mail.notify(emails.mfa_changed(account["email"], "enabled"))
    return codes


def disable(core: Core, account_id: str, session_id: str, password: str, code: str) -> None:
    account = _reauthenticate(core, account_id, password, code, "mfa.disabled")
    core.stores.accounts.disable_totp(account_id, core.utcnow())
    _end_other_sessions(core, account_id, session_id, "mfa_disabled")
    core.record("mfa.disabled", account_id=account["_id"])
    core.mail.notify(emails.mfa_changed(account["email"], "disabled"))


def regenerate_backup_codes(
    core: Core, account_id: str, session_id: str, password: str, code: str
) -> list[str]:
    account = _reauthenticate(core, account_id, password, code, "mfa.backup_codes_regenerated")
    codes = totp.new_backup_codes()
    if (
        core.stores.accounts.replace_backup_codes(account_id, totp.hash_backup_codes(codes), core.utcnow())
        is None
    ):
        raise FailedPrecondition(NOT_ON)
    _end_other_sessions(core, account_id, session_id, "backup_codes_regenerated")
    core.record("mfa.backup_codes_regenerated", account_id=account_id)
    core.mail.notify(emails.mfa_changed(account["email"], "backup_codes"))
    return codes


def _verified_owner(core: Core, account_id: str, action: str) -> Doc:
    account = require(core, account_id)
    if not account.get("email_verified"):
        core.record(action, "denied", account_id=account_id, reason="email_unverified")
        raise EmailUnverified(UNVERIFIED_ACTION)
    return account


def _check_password(core: Core, account: Doc, password: str, action: str) -> Attempt:
    """The password again, under the sign-in throttles. The reserved attempt is returned still
    open: the caller settles it (succeeded, failed) after any further check."""
    if not password:
        raise FieldInvalid("password", PASSWORD_REQUIRED, "password_required")
    now = core.utcnow()
    try:
        attempt = core.limiter.reserve(account["email_key"], client_ip(), now)
    except Throttled:
        core.record(action, "denied", account_id=account["_id"], reason="rate_limited")
        raise
    if not core.limiter.check(
        attempt, core.utcnow, lambda: core.hasher.verify(password, account["password_hash"])
    ):
        core.record(action, "failure", account_id=account["_id"], reason="wrong_password")
        raise FieldInvalid("password", BAD_PASSWORD, "password_incorrect")
    return attempt


def _reauthenticate(core: Core, account_id: str, password: str, code: str, action: str) -> Doc:
    """Password and a second factor, under the same throttles as sign-in."""
    account = require(core, account_id)
    if not totp_on(account):
        raise FailedPrecondition(NOT_ON)
    attempt = _check_password(core, account, password, action)
    try:
        check_code(core, account, code)
    except WrongCode:
        core.limiter.failed(attempt, core.utcnow())
        core.record(action, "failure", account_id=account_id, reason="wrong_code")
        raise FieldInvalid("code", BAD_CODE, "code_invalid") from None
    except BaseException:
        core.limiter.abandoned(attempt, core.utcnow())
        raise
    core.limiter.succeeded(attempt, core.utcnow())
    return account


def _end_other_sessions(core: Core, account_id: str, session_id: str, reason: str) -> None:
    core.stores.sessions.revoke_all(account_id, core.utcnow(), reason, keep=session_id)
