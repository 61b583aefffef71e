"""Shared by the accounts (auth/*) and me (me/*) blueprints: calling the auth service, the base
and field types of body models, the account and token JSON shapes, and their OpenAPI schemas."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from aicosts.auth.v1 import auth_pb2
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictStr

from gateway.api.accounts_models import Account, TokenPair
from gateway.authn import auth_rpc
from gateway.jsonfmt import timestamp
from gateway.openapi import problem

# The gateway's caps are generous; the auth service checks new passwords, names and addresses
# and says what is wrong with a code per field (password_too_short, name_invalid, ...). The
# document states those rules (json_schema_extra), so a body valid by it is one auth accepts
# (unless the password is on its list of common ones).
_SECRET = {"writeOnly": True}
Password = Annotated[StrictStr, Field(min_length=1, max_length=1024, json_schema_extra=_SECRET)]
Token = Annotated[StrictStr, Field(min_length=1, max_length=512, json_schema_extra=_SECRET)]
Code = Annotated[StrictStr, Field(min_length=1, max_length=64, json_schema_extra=_SECRET)]
Email = Annotated[
    EmailStr,
    Field(
        description="An address at a public domain (special-use names such as .test are refused)",
        json_schema_extra={"maxLength": 254},  # auth.core.MAX_EMAIL_LENGTH
    ),
]
NewPassword = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=1024,
        description="At least 8 characters and at most 72 bytes in UTF-8 (auth.passwords); not a common one",
        # Bytes are not a JSON Schema length: any ASCII password of 72 fits, and any of 18 characters.
        json_schema_extra={
            **_SECRET,
            "minLength": 8,
            "maxLength": 72,
            "anyOf": [{"maxLength": 18}, {"pattern": "^[\\x00-\\x7f]*$"}],
        },
    ),
]


def _class_of(categories: tuple[str, ...]) -> str:
    """A regex character-class body of the Basic Multilingual Plane's characters in `categories`."""
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if unicodedata.category(chr(code)) in categories:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


_REFUSED = _class_of(("Cc", "Cf", "Zl", "Zp"))  # auth.accounts.clean_name: control, format, breaks
Name = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=200,
        description="At most 100 characters, not blank, no control or format characters",
        json_schema_extra={"maxLength": 100, "pattern": f"^[^{_REFUSED}]*[^\\s{_REFUSED}][^{_REFUSED}]*$"},
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)


def call_auth(method: str, message: Any) -> Any:
    """Call the auth service; its errors (field, Retry-After) become problems in errors.py."""
    return auth_rpc(method, message)


def account_json(account: auth_pb2.Account) -> dict[str, Any]:
    return Account(
        id=account.id,
        email=account.email,
        name=account.name,
        role=account.role,
        email_verified=account.email_verified,
        plan=account.plan,
        totp_enabled=account.totp_enabled,
        created_at=timestamp(account, "created_at"),
    ).dump()


def tokens_json(tokens: auth_pb2.TokenPair) -> dict[str, Any]:
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    ).dump()


# --- OpenAPI ------------------------------------------------------------------------------------

BAD_INPUT = problem("Bad input: missing or malformed fields, a weak password or a wrong code")
RATE_LIMITED = problem("Too many failed attempts; see Retry-After (it grows with further failures)")
MAIL_BUSY = problem("mail-queue-full: too many emails are waiting to be sent; see Retry-After")
UNVERIFIED = problem("email-unverified: confirm the account's email address first")
