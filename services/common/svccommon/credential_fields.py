"""One value of a multi-field credential (``CredentialField``), and the checks of the values that
are documents rather than patterns: a Google service account's JSON key. The platform catalog
(``svccommon.platforms``) declares which fields each platform asks for."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_FIELD_LENGTH = 8192  # a field value, e.g. a Google service-account key (a JSON document)


@dataclass(frozen=True)
class CredentialField:
    """One value of a multi-field credential, as ``GET /v1/platforms`` describes it."""

    name: str
    label: str
    secret: bool  # a password input; never shown again, never used for last4
    pattern: str  # the whole value must match (re.fullmatch)
    help: str
    max_length: int = 256
    required: bool = True  # an optional field may be left out or sent empty
    # A document (a JSON key file): spaces and line breaks are part of it, and ``check`` (a
    # user-facing problem, never quoting the value, or None) judges it instead of the pattern.
    check: Callable[[str], str | None] | None = None

    def missing(self, value: Any) -> bool:
        return not self.required and (value is None or value == "")

    def problem(self, value: Any) -> str | None:
        """A user-facing problem with this field's value (never quoting a secret), or None."""
        if self.missing(value):
            return None
        if not isinstance(value, str) or not value.strip():
            return f"{self.label} is empty."
        if self.check is not None:
            if len(value) > self.max_length:
                return f"{self.label} is longer than {self.max_length} characters. {self.help}"
            return self.check(value)
        if value != value.strip() or any(c.isspace() for c in value):
            return f"{self.label} contains spaces or line breaks; paste it exactly as shown."
        if len(value) > self.max_length or not re.fullmatch(self.pattern, value):
            return f"{self.label} does not look right. {self.help}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "secret": self.secret,
            "pattern": self.pattern,
            "max_length": self.max_length,
            "help": self.help,
            "required": self.required,
        }


# --- Google: a service-account JSON key and the billing export table ---------------------------
# Project IDs: 6-30 lowercase letters, digits and hyphens, starting with a letter (older
# domain-scoped projects add "example.com:"); https://cloud.google.com/resource-manager/docs/
# creating-managing-projects. Datasets: letters, digits, underscores; tables likewise (the billing
# export's are gcp_billing_export_v1_<BILLING_ACCOUNT_ID> with hyphens turned into underscores).
GCP_PROJECT_PATTERN = r"(?:[a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]"
BILLING_TABLE_PATTERN = GCP_PROJECT_PATTERN + r"\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_-]{1,1024}"
_SERVICE_ACCOUNT_KEYS = ("client_email", "private_key", "token_uri")


def service_account_info(value: str) -> dict[str, Any] | None:
    """The parsed service-account key, or None when ``value`` is not one (see the check below)."""
    try:
        info = json.loads(value)
    except ValueError:
        return None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return None
    if not all(isinstance(info.get(k), str) and info[k].strip() for k in _SERVICE_ACCOUNT_KEYS):
        return None
    if "@" not in info["client_email"] or "PRIVATE KEY-----" not in info["private_key"]:
        return None
    if not info["token_uri"].startswith(("https://", "http://")):
        return None
    return info


def service_account_problem(value: str) -> str | None:
    if service_account_info(value) is None:
        return (
            "Service account key (JSON) is not a service account's JSON key: paste the whole file "
            'downloaded from IAM > Service accounts > Keys ("type": "service_account", with '
            "client_email, private_key and token_uri)."
        )
    return None


def service_account_id(values: Mapping[str, str]) -> str:
    """The key's id (private_key_id, 40 hex digits, shown by the console), else the account's
    name; never anything from the private key."""
    info = service_account_info(values.get("service_account_json", "")) or {}
    key_id = info.get("private_key_id")
    if isinstance(key_id, str) and len(key_id) >= 4:
        return key_id
    return str(info.get("client_email", "????")).split("@", 1)[0]
