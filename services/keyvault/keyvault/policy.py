"""Who may do what with keyvault, in one place (the per-method allowlist in server.py comes from
here), plus the shapes of ids keyvault accepts."""

from __future__ import annotations

import re
from collections.abc import Mapping

from svccommon.errors import InvalidArgument, NotFound

# Interceptor-level allowlist: method name → calling identities (from the mTLS certificate).
# Reveal and the secret methods admit every AICosts identity at this layer so that the servicer
# can refuse the wrong ones itself and write an audit row for each refusal.
METHOD_CALLERS: Mapping[str, tuple[str, ...]] = {
    "StoreCredential": ("gateway",),
    "DeleteCredential": ("gateway",),
    "ListCredentials": ("gateway", "usage"),
    "GetCredential": ("gateway", "usage"),
    "UpdateCredentialStatus": ("usage",),
    # usage's reconciler: new keys get their backfill, deleted keys are forgotten.
    "ListCredentialChanges": ("usage",),
}
AUDITED_METHODS = (
    "RevealCredential",
    "EncryptSecret",
    "DecryptSecret",
    "RewrapSecret",
    "StartSecretCensus",
    "FinishSecretCensus",
)

# Plaintext provider keys go to the usage service alone.
REVEAL_CALLERS = frozenset({"usage"})

# Generic secrets: caller identity → purposes it may encrypt/decrypt/rewrap.
# usage seals alert destinations (webhook URLs and signing secrets, Slack URLs) it alone sends to.
SECRET_PURPOSES: Mapping[str, frozenset[str]] = {
    "auth": frozenset({"totp_secret"}),
    "usage": frozenset({"alert_destination"}),
}

CREDENTIAL_PURPOSE = "api_key"

_ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_CREDENTIAL_ID = re.compile(r"[0-9a-f]{32}")
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def may_reveal(caller: str) -> bool:
    return caller in REVEAL_CALLERS


def may_use_secret(caller: str, purpose: str) -> bool:
    return purpose in SECRET_PURPOSES.get(caller, frozenset())


def valid_account_id(value: str) -> bool:
    return bool(_ACCOUNT_ID.fullmatch(value or ""))


def valid_credential_id(value: str) -> bool:
    return bool(_CREDENTIAL_ID.fullmatch(value or ""))


def valid_purpose(value: str) -> bool:
    return bool(_PURPOSE.fullmatch(value or ""))


def check_account_id(value: str) -> str:
    if not _ACCOUNT_ID.fullmatch(value or ""):
        raise InvalidArgument("account_id is missing or malformed")
    return value


def check_record_id(value: str) -> str:
    if not _RECORD_ID.fullmatch(value or ""):
        raise InvalidArgument("record_id is missing or malformed")
    return value


def check_purpose(value: str) -> str:
    if not _PURPOSE.fullmatch(value or ""):
        raise InvalidArgument("purpose is missing or malformed")
    return value


def check_credential_id(value: str) -> str:
    # A malformed id cannot name any credential: the same answer as an unknown one.
    if not _CREDENTIAL_ID.fullmatch(value or ""):
        raise NotFound("credential not found")
    return value
