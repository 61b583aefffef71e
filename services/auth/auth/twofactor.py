"""Turning TOTP 2FA on and off, and replacing backup codes. Every change ends the account's other
sessions; turning it off or replacing codes needs the password and a current code (ASVS 7.5.1)."""

from __future__ import annotations

from dataclasses import dataclass

from svccommon.errors import AlreadyExists, FailedPrecondition

from auth import totp
from auth.accounts import require
from auth.core import Core, Doc, client_ip
from auth.errors import BAD_CODE, FieldInvalid
from auth.second_factor import WrongCode, check_code, totp_on

ALREADY_ON = "Two-factor authentication is already on. Turn it off first to set it up again."
NOT_ON = "Two-factor authentication is not on for this account."
NO_SETUP = "Start the two-factor setup first: no setup is waiting for confirmation."
BAD_SETUP_CODE = "The code is incorrect. Enter the current code from your authenticator app."
BAD_PASSWORD = "The password is incorrect."  # noqa: S105 (a message)


@dataclass(frozen=True)
class Setup:
    secret: str
    otpauth_uri: str
    qr_svg: str


def setup(core: Core, account_id: str) -> Setup:
    account = require(core, account_id)
    if totp_on(account):
        raise AlreadyExists(ALREADY_ON)
    secret = totp.new_secret()
    if (
        core.stores.accounts.set_totp_pending(account_id, core.box.encrypt(account_id, secret), core.utcnow())
        is None
    ):
        raise AlreadyExists(ALREADY_ON)
    uri = totp.provisioning_uri(secret, account["email"])
    core.record("mfa.setup_started", account_id=account_id)
    return Setup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


def confirm(core: Core, account_id: str, session_id: str, code: str) -> list[str]:
    account = require(core, account_id)
    if totp_on(account):
        raise AlreadyExists(ALREADY_ON)
    pending = (account.get("totp") or {}).get("pending")
    if not pending:
        raise FailedPrecondition(NO_SETUP)
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
    return codes


def disable(core: Core, account_id: str, session_id: str, password: str, code: str) -> None:
    account = _reauthenticate(core, account_id, password, code, "mfa.disabled")
    core.stores.accounts.disable_totp(account_id, core.utcnow())
    _end_other_sessions(core, account_id, session_id, "mfa_disabled")
    core.record("mfa.disabled", account_id=account["_id"])


def regenerate_backup_codes(
    core: Core, account_id: str, session_id: str, password: str, code: str
) -> list[str]:
    _reauthenticate(core, account_id, password, code, "mfa.backup_codes_regenerated")
    codes = totp.new_backup_codes()
    if (
        core.stores.accounts.replace_backup_codes(account_id, totp.hash_backup_codes(codes), core.utcnow())
        is None
    ):
        raise FailedPrecondition(NOT_ON)
    _end_other_sessions(core, account_id, session_id, "backup_codes_regenerated")
    core.record("mfa.backup_codes_regenerated", account_id=account_id)
    return codes


def _reauthenticate(core: Core, account_id: str, password: str, code: str, action: str) -> Doc:
    """Password and a second factor, under the same failure limits as sign-in."""
    account = require(core, account_id)
    if not totp_on(account):
        raise FailedPrecondition(NOT_ON)
    key, ip, now = account["email_key"], client_ip(), core.utcnow()
    core.limiter.check(key, ip, now)
    if not core.hasher.verify(password, account["password_hash"]):
        core.limiter.failed(key, ip, now)
        core.record(action, "failure", account_id=account_id, reason="wrong_password")
        raise FieldInvalid("password", BAD_PASSWORD, "password_incorrect")
    try:
        check_code(core, account, code)
    except WrongCode:
        core.limiter.failed(key, ip, now)
        core.record(action, "failure", account_id=account_id, reason="wrong_code")
        raise FieldInvalid("code", BAD_CODE, "code_invalid") from None
    return account


def _end_other_sessions(core: Core, account_id: str, session_id: str, reason: str) -> None:
    core.stores.sessions.revoke_all(account_id, core.utcnow(), reason, keep=session_id)
