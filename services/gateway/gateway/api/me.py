"""The signed-in account (/v1/me*): profile, password change, TOTP 2FA and backup codes.
The account and session ids come from the verified access token, never from the body."""

from __future__ import annotations

from aicosts.auth.v1 import auth_pb2
from flask import Blueprint, g, jsonify

from gateway.api.accounts_models import AccountEnvelope, BackupCodes, EmailSent, TotpSetup
from gateway.api.auth_support import (
    MAIL_BUSY,
    RATE_LIMITED,
    UNVERIFIED,
    Body,
    Code,
    Name,
    NewPassword,
    Password,
    account_json,
    call_auth,
)
from gateway.authn import require_account
from gateway.openapi import body, json_body, problem

bp = Blueprint("me", __name__)


class NameBody(Body):
    name: Name


class PasswordChangeBody(Body):
    current_password: Password
    new_password: NewPassword


class PasswordBody(Body):
    password: Password


class PasswordAndCodeBody(Body):
    password: Password
    code: Code


@bp.get("/v1/me")
@require_account
def get_me():
    reply = call_auth("GetAccount", auth_pb2.GetAccountRequest(account_id=g.account_id))
    return jsonify(account=account_json(reply.account))


@bp.patch("/v1/me")
@require_account
@body(NameBody)
def update_me(body: NameBody):
    reply = call_auth("UpdateAccount", auth_pb2.UpdateAccountRequest(account_id=g.account_id, name=body.name))
    return jsonify(account=account_json(reply.account))


@bp.post("/v1/me/email-verification")
@require_account
def resend_verification():
    call_auth("ResendVerification", auth_pb2.ResendVerificationRequest(account_id=g.account_id))
    return jsonify(EmailSent(status="sent").dump()), 202


@bp.post("/v1/me/password")
@require_account
@body(PasswordChangeBody)
def change_password(body: PasswordChangeBody):
    request = auth_pb2.ChangePasswordRequest(
        account_id=g.account_id,
        session_id=g.claims.session_id,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    call_auth("ChangePassword", request)
    return "", 204


@bp.post("/v1/me/2fa/setup")
@require_account
@body(PasswordBody)
def totp_setup(body: PasswordBody):
    request = auth_pb2.SetupTotpRequest(account_id=g.account_id, password=body.password)
    reply = call_auth("SetupTotp", request)
    return jsonify(TotpSetup(secret=reply.secret, otpauth_uri=reply.otpauth_uri, qr_svg=reply.qr_svg).dump())


@bp.post("/v1/me/2fa/confirm")
@require_account
@body(PasswordAndCodeBody)
def totp_confirm(body: PasswordAndCodeBody):
    request = auth_pb2.ConfirmTotpRequest(
        account_id=g.account_id, session_id=g.claims.session_id, password=body.password, code=body.code
    )
    reply = call_auth("ConfirmTotp", request)
    return jsonify(BackupCodes(backup_codes=list(reply.backup_codes)).dump())


@bp.post("/v1/me/2fa/disable")
@require_account
@body(PasswordAndCodeBody)
def totp_disable(body: PasswordAndCodeBody):
    request = auth_pb2.DisableTotpRequest(
        account_id=g.account_id, session_id=g.claims.session_id, password=body.password, code=body.code
    )
    call_auth("DisableTotp", request)
    return "", 204


@bp.post("/v1/me/2fa/backup-codes")
@require_account
@body(PasswordAndCodeBody)
def backup_codes(body: PasswordAndCodeBody):
    request = auth_pb2.RegenerateBackupCodesRequest(
        account_id=g.account_id, session_id=g.claims.session_id, password=body.password, code=body.code
    )
    reply = call_auth("RegenerateBackupCodes", request)
    return jsonify(BackupCodes(backup_codes=list(reply.backup_codes)).dump())


_ACCOUNT = json_body(AccountEnvelope)
_DONE = {"description": "Done"}
_STATE = problem("2FA is not in a state that allows this (already on, not on, or no setup started)")


def _op(summary: str, responses: dict) -> dict:
    return {"summary": summary, "responses": responses}


OPENAPI_PATHS = {
    "/v1/me": {
        "get": _op("The signed-in account", {"200": _ACCOUNT}),
        "patch": _op("Change the account's name", {"200": _ACCOUNT}),
    },
    "/v1/me/email-verification": {
        "post": _op(
            "Send the verification email again",
            {
                "202": json_body(EmailSent, "Sent"),
                "422": problem("Already verified"),
                "429": problem("Too many verification emails; see Retry-After"),
                "503": MAIL_BUSY,
            },
        ),
    },
    "/v1/me/password": {
        "post": _op(
            "Change the password (every other session ends)",
            {"204": _DONE, "429": RATE_LIMITED},
        ),
    },
    "/v1/me/2fa/setup": {
        "post": _op(
            "Start TOTP setup (the password is required; the email address must be confirmed): "
            "a new secret, its otpauth URI and QR code",
            {"200": json_body(TotpSetup), "403": UNVERIFIED, "409": _STATE, "429": RATE_LIMITED},
        ),
    },
    "/v1/me/2fa/confirm": {
        "post": _op(
            "Turn 2FA on with the password and a current code from the new authenticator (within 15 "
            "minutes of setup); other sessions end, a notice is emailed; returns 10 backup codes, "
            "shown once",
            {
                "200": json_body(BackupCodes),
                "403": UNVERIFIED,
                "409": _STATE,
                "422": _STATE,
                "429": RATE_LIMITED,
            },
        ),
    },
    "/v1/me/2fa/disable": {
        "post": _op(
            "Turn 2FA off (password and a code required; other sessions end; a notice is emailed)",
            {"204": _DONE, "422": _STATE, "429": RATE_LIMITED},
        ),
    },
    "/v1/me/2fa/backup-codes": {
        "post": _op(
            "Replace the backup codes (password and a code required; old codes stop working; other "
            "sessions end; a notice is emailed)",
            {"200": json_body(BackupCodes), "422": _STATE, "429": RATE_LIMITED},
        ),
    },
}
