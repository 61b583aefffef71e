"""Accounts and sessions, unauthenticated side (/v1/auth/*): signup, email verification, sign-in
with optional 2FA, refresh, logout, password reset. The auth service does the work; this maps
JSON to its RPCs. Secrets in bodies never reach a log line (the access log has no bodies)."""

from __future__ import annotations

from aicosts.auth.v1 import auth_pb2
from flask import Blueprint, g, jsonify

from gateway.api.accounts_models import Accepted, AccountEnvelope, MfaRequired, TokenPair
from gateway.api.auth_support import (
    BAD_INPUT,
    MAIL_BUSY,
    RATE_LIMITED,
    Body,
    Code,
    Email,
    Name,
    NewPassword,
    Password,
    Token,
    account_json,
    call_auth,
    tokens_json,
)
from gateway.authn import require_account
from gateway.openapi import body, json_body, problem

bp = Blueprint("accounts", __name__)

# The same answer whether or not the address already has an account (its owner is told by email).
SIGNUP_ACCEPTED = Accepted(
    status="accepted", detail="Check your inbox: we sent an email to this address with what to do next."
).dump()
RESET_ACCEPTED = Accepted(
    status="accepted",
    detail="If an account uses this email address, a link to reset its password is on its way.",
).dump()


class SignupBody(Body):
    email: Email
    password: NewPassword
    name: Name


class LoginBody(Body):
    email: Email
    password: Password


class MfaLoginBody(Body):
    mfa_token: Token
    code: Code


class TokenBody(Body):
    token: Token


class RefreshBody(Body):
    refresh_token: Token


class EmailBody(Body):
    email: Email


class ResetConfirmBody(Body):
    token: Token
    new_password: NewPassword
    code: Code | None = None


@bp.post("/v1/auth/signup")
@body(SignupBody)
def signup(body: SignupBody):
    call_auth("Signup", auth_pb2.SignupRequest(email=body.email, password=body.password, name=body.name))
    return jsonify(SIGNUP_ACCEPTED), 202


@bp.post("/v1/auth/verify-email")
@body(TokenBody)
def verify_email(body: TokenBody):
    reply = call_auth("VerifyEmail", auth_pb2.VerifyEmailRequest(token=body.token))
    return jsonify(account=account_json(reply.account))


@bp.post("/v1/auth/login")
@body(LoginBody)
def login(body: LoginBody):
    reply = call_auth("Login", auth_pb2.LoginRequest(email=body.email, password=body.password))
    if reply.WhichOneof("result") == "mfa_token":
        return jsonify(MfaRequired(mfa_required=True, mfa_token=reply.mfa_token).dump())
    return jsonify(tokens_json(reply.tokens))


@bp.post("/v1/auth/login/mfa")
@body(MfaLoginBody)
def login_mfa(body: MfaLoginBody):
    reply = call_auth(
        "CompleteMfaLogin", auth_pb2.CompleteMfaLoginRequest(mfa_token=body.mfa_token, code=body.code)
    )
    return jsonify(tokens_json(reply.tokens))


@bp.post("/v1/auth/refresh")
@body(RefreshBody)
def refresh(body: RefreshBody):
    reply = call_auth("Refresh", auth_pb2.RefreshRequest(refresh_token=body.refresh_token))
    return jsonify(tokens_json(reply.tokens))


@bp.post("/v1/auth/logout")
@body(RefreshBody)
def logout(body: RefreshBody):
    call_auth("Logout", auth_pb2.LogoutRequest(refresh_token=body.refresh_token))
    return "", 204


@bp.post("/v1/auth/logout-all")
@require_account
def logout_all():
    call_auth("LogoutAll", auth_pb2.LogoutAllRequest(account_id=g.account_id))
    return "", 204


@bp.post("/v1/auth/password-reset")
@body(EmailBody)
def password_reset(body: EmailBody):
    call_auth("RequestPasswordReset", auth_pb2.RequestPasswordResetRequest(email=body.email))
    return jsonify(RESET_ACCEPTED), 202


@bp.post("/v1/auth/password-reset/confirm")
@body(ResetConfirmBody)
def password_reset_confirm(body: ResetConfirmBody):
    request = auth_pb2.ConfirmPasswordResetRequest(
        token=body.token, new_password=body.new_password, code=body.code or ""
    )
    call_auth("ConfirmPasswordReset", request)
    return "", 204


_TOKENS = json_body(TokenPair, "A new session's tokens")
_ACCOUNT = json_body(AccountEnvelope)
_NO_CONTENT = {"description": "Done"}


def _post(summary: str, responses: dict, **extra) -> dict:
    return {"post": {"summary": summary, "responses": responses, **extra}}


OPENAPI_PATHS = {
    "/v1/auth/signup": _post(
        "Create an account and send its verification email. The answer is the same when the "
        "address already has an account (its owner gets an email instead); an account not "
        "confirmed within 7 days is deleted",
        {
            "202": json_body(Accepted, "Accepted"),
            "400": BAD_INPUT,
            "429": problem("Too many sign-ups from this network; see Retry-After"),
            "503": MAIL_BUSY,
        },
    ),
    "/v1/auth/verify-email": _post(
        "Confirm the email address with the token from the verification link",
        {"200": _ACCOUNT, "400": problem("The link is invalid, expired or used")},
    ),
    "/v1/auth/login": _post(
        "Sign in with email and password",
        {
            "200": json_body(
                {"oneOf": [TokenPair, MfaRequired]},
                "Tokens, or an MFA challenge when 2FA is on",
            ),
            "400": BAD_INPUT,
            "401": problem("The email or password is incorrect"),
            "429": RATE_LIMITED,
        },
    ),
    "/v1/auth/login/mfa": _post(
        "Finish a 2FA sign-in with a TOTP code or a backup code",
        {
            "200": _TOKENS,
            "400": BAD_INPUT,
            "401": problem("Wrong code, or the challenge expired or locked"),
            "429": RATE_LIMITED,
        },
    ),
    "/v1/auth/refresh": _post(
        "Exchange a refresh token for a new token pair (the old refresh token is spent)",
        {
            "200": _TOKENS,
            "400": BAD_INPUT,
            "401": problem("Invalid, expired, revoked or reused refresh token"),
        },
    ),
    "/v1/auth/logout": _post("End the session of this refresh token", {"204": _NO_CONTENT, "400": BAD_INPUT}),
    "/v1/auth/logout-all": _post("End every session of the account", {"204": _NO_CONTENT}),
    "/v1/auth/password-reset": _post(
        "Ask for a password-reset email (same answer whether or not the account exists)",
        {
            "202": json_body(Accepted, "Accepted"),
            "400": BAD_INPUT,
            "429": problem("Too many reset requests from this network; see Retry-After"),
            "503": MAIL_BUSY,
        },
    ),
    "/v1/auth/password-reset/confirm": _post(
        "Set a new password with the emailed token (and a 2FA code when 2FA is on); ends all sessions",
        {"204": _NO_CONTENT, "400": BAD_INPUT, "429": RATE_LIMITED},
    ),
}
