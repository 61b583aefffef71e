"""The answers of the account, sign-in and 2FA endpoints (gateway.api.accounts, gateway.api.me),
as response models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.answers import Answer, Timestamp


class Account(Answer):
    id: str
    email: str = Field(json_schema_extra={"format": "email"})
    name: str
    role: Literal["owner"]
    email_verified: bool
    plan: str
    totp_enabled: bool
    created_at: Timestamp


class AccountEnvelope(Answer):
    account: Account


class TokenPair(Answer):
    access_token: str = Field(description="EdDSA-signed JWT, valid for expires_in seconds")
    refresh_token: str = Field(description="Opaque; works once (each refresh rotates it)")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (the scheme name, not a secret)
    expires_in: int


class MfaRequired(Answer):
    mfa_required: Literal[True]
    mfa_token: str = Field(description="Send with a code to POST /v1/auth/login/mfa")


class BackupCodes(Answer):
    backup_codes: list[str] = Field(min_length=10, max_length=10, description="Shown once")


class Accepted(Answer):
    status: Literal["accepted"]
    detail: str


class EmailSent(Answer):
    status: Literal["sent"]


class TotpSetup(Answer):
    secret: str = Field(description="Base32 seed, for typing into an authenticator app")
    otpauth_uri: str
    qr_svg: str = Field(
        description="The otpauth URI as a QR code: a standalone SVG document (usable as an image)"
    )
