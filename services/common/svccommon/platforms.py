"""The one catalog of AI platforms the product knows (served by ``GET /v1/platforms``), and the
shape check of a provider key for a platform. Pure data: the gateway validates with it before
calling keyvault, keyvault validates again before storing, and usage's connectors read it.

``validate_key`` raises ``InvalidKey`` whose message a user can act on (what kind of key, where
to create it) and which never contains the key itself.

Multi-field credentials. A platform whose entry declares ``fields`` (AWS: an access key id and a
secret access key) is connected with one value per field instead of one ``api_key``.
``validate_fields`` checks every field (the business rule lives here, gateway and keyvault only
call it) and returns the canonical secret: one JSON document of the fields (sorted keys, no
spaces), which keyvault encrypts as one secret and reveals to the usage service as the key.
``last4`` comes from the platform's ``id_field`` (never a secret field).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from svccommon.credential_fields import (
    BILLING_TABLE_PATTERN,
    GCP_PROJECT_PATTERN,
    MAX_FIELD_LENGTH,
    CredentialField,
    service_account_id,
    service_account_problem,
)

Connect = Literal["api_key", "file", "both"]
MIN_KEY_LENGTH, MAX_KEY_LENGTH = 8, 1024


class InvalidKey(ValueError):
    """The platform or the key's shape is not acceptable; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str = "api_key") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class UnknownPlatform(InvalidKey, KeyError):
    """Also a KeyError, for code that looks platforms up like a mapping."""

    def __init__(self, platform_id: str) -> None:
        shown = platform_id if len(platform_id) <= 40 and platform_id.isprintable() else "that"
        super().__init__(f"Unknown platform {shown!r}: GET /v1/platforms lists the platform ids.", "platform")
        self.platform_id = platform_id


@dataclass(frozen=True)
class Platform:
    id: str
    name: str
    connect: Connect
    units: tuple[str, ...]
    key_hint: str
    # Documented key prefix; None where the provider documents no shape (lenient).
    key_prefix: str | None = None
    # Multi-field credentials: the values asked instead of one api_key, and the non-secret field
    # whose last 4 characters identify the credential in lists.
    fields: tuple[CredentialField, ...] = ()
    id_field: str | None = None
    # Where the identifying value is inside a field (Google: the service-account key's id);
    # given the fields, returns a non-secret string whose last 4 characters show in lists.
    identify: Callable[[Mapping[str, str]], str] | None = None

    @property
    def accepts_keys(self) -> bool:
        return self.connect in ("api_key", "both")

    def key_problem(self, api_key: str) -> str | None:
        """A user-facing problem with the key's shape, or None if it looks usable."""
        if not self.accepts_keys:
            return f"{self.name} has no usage API we can read: upload a billing file instead."
        if self.fields:
            return (
                f"{self.name} is connected with {self._field_names()}: send them as 'fields', not 'api_key'."
            )
        if not isinstance(api_key, str) or not api_key.strip():
            return "The key is empty."
        if api_key != api_key.strip() or any(c.isspace() for c in api_key):
            return "The key contains spaces or line breaks; paste it exactly as shown."
        if not api_key.isascii() or not api_key.isprintable():
            return "The key contains characters keys never have; paste it again."
        if not MIN_KEY_LENGTH <= len(api_key) <= MAX_KEY_LENGTH:
            return "The key is too short or too long to be a provider key."
        if self.key_prefix and not api_key.startswith(self.key_prefix):
            return f"{self.name} usage needs a key starting with {self.key_prefix}. {self.key_hint}"
        return None

    def _field_names(self) -> str:
        return " and ".join(f.label.lower() for f in self.fields)

    def fields_problem(self, values: Any) -> tuple[str, str] | None:
        """(input at fault, user-facing problem) with a multi-field credential, or None."""
        if not self.accepts_keys:
            return "platform", f"{self.name} has no usage API we can read: upload a billing file instead."
        if not self.fields:
            return "fields", f"{self.name} is connected with one API key: send it as 'api_key'."
        if not isinstance(values, Mapping):
            return "fields", f"{self.name} needs an object of fields: {self._field_names()}."
        known = {f.name for f in self.fields}
        unknown = sorted(str(k)[:40] for k in values if k not in known)
        if unknown:
            return "fields", f"Unknown field(s) for {self.name}: {', '.join(unknown)}."
        for field in self.fields:
            problem = field.problem(values.get(field.name))
            if problem is not None:
                return f"fields.{field.name}", problem
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "connect": self.connect,
            "units": list(self.units),
            "key_hint": self.key_hint,
            "fields": [f.to_dict() for f in self.fields],
        }


# Unit names: svccommon.units (one meaning on every platform).
_TOKENS = ("input_uncached_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
_FILE_ONLY = "No usage API: upload a billing file."
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

PLATFORMS: dict[str, Platform] = {
    p.id: p
    for p in (
        Platform(
            "openai",
            "OpenAI",
            "both",
            (
                *_TOKENS,
                "input_audio_tokens",
                "input_image_tokens",
                "output_audio_tokens",
                "output_image_tokens",
                "requests",
                "characters",
                "seconds",
                "images",
                "web_search_calls",
                "file_search_calls",
                "code_interpreter_sessions",
                "vector_store_bytes",
            ),
            "An Admin key (sk-admin-...), not a project key: create one at "
            "https://platform.openai.com/settings/organization/admin-keys",
            "sk-admin-",
        ),
        Platform(
            "anthropic",
            "Anthropic",
            "both",
            (*_TOKENS, "web_search_calls"),
            "An Admin API key (sk-ant-admin...): an organization admin creates it in the Claude "
            "Console under Settings > Admin keys.",
            "sk-ant-admin",
        ),
        Platform(
            "elevenlabs",
            "ElevenLabs",
            "api_key",
            ("characters", "credits"),
            "An API key with usage access, from https://elevenlabs.io/app/settings/api-keys. "
            "Costs are estimated from characters.",
        ),
        Platform(
            "openrouter",
            "OpenRouter",
            "api_key",
            ("input_unsplit_tokens", "output_tokens", "reasoning_tokens", "requests"),
            "A Management (provisioning) key, not an inference key: "
            "https://openrouter.ai/settings/management-keys",
        ),
        Platform(
            "deepgram",
            "Deepgram",
            "api_key",
            ("seconds", "agent_seconds", "characters", "input_uncached_tokens", "output_tokens", "requests"),
            "An API key with the Member role or higher (usage and billing read) from the Deepgram "
            "Console: https://console.deepgram.com/",
        ),
        Platform(
            "google",
            "Google Gemini / Vertex AI",
            "both",
            (
                "input_uncached_tokens",
                "cache_read_tokens",
                "output_tokens",
                "characters",
                "seconds",
                "images",
                "requests",
            ),
            "Google has no spend API for Gemini keys: connect the Cloud Billing export to BigQuery "
            "with a service account's JSON key (roles BigQuery Data Viewer on the export's dataset and "
            "BigQuery Job User; docs/providers.md), or upload the billing export as CSV.",
            fields=(
                CredentialField(
                    "service_account_json",
                    "Service account key (JSON)",
                    True,
                    r"\{[\s\S]*\}",
                    "The JSON key file of a service account (IAM > Service accounts > Keys > Add key > "
                    "JSON), pasted whole.",
                    MAX_FIELD_LENGTH,
                    check=service_account_problem,
                ),
                CredentialField(
                    "billing_table",
                    "Billing export table",
                    False,
                    BILLING_TABLE_PATTERN,
                    "The standard usage cost export table as project.dataset.table, e.g. "
                    "my-project.billing_export.gcp_billing_export_v1_012345_6789AB_CDEF01 "
                    "(Billing > Billing export > BigQuery export).",
                    1024,
                ),
                CredentialField(
                    "billing_project",
                    "Project to run the query in (optional)",
                    False,
                    GCP_PROJECT_PATTERN,
                    "The project ID billed for the query (BigQuery Job User there); empty: the "
                    "service account's own project.",
                    63,
                    required=False,
                ),
            ),
            identify=service_account_id,
        ),
        Platform(
            "aws_bedrock",
            "AWS Bedrock",
            "both",
            ("input_uncached_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "requests"),
            "An IAM user's access key allowed only ce:GetCostAndUsage (the policy is in docs/providers.md); "
            "Cost Explorer must be enabled in the account. Or upload a Cost Explorer / Cost and Usage "
            "Report CSV that includes Amazon Bedrock.",
            fields=(
                CredentialField(
                    "access_key_id",
                    "Access key ID",
                    False,
                    r"AKIA[A-Z0-9]{16}",
                    "The access key ID of an IAM user (20 characters, starting with AKIA).",
                    20,
                ),
                CredentialField(
                    "secret_access_key",
                    "Secret access key",
                    True,
                    r"[A-Za-z0-9/+=]{40}",
                    "The secret access key shown once when the access key was created (40 characters).",
                    40,
                ),
            ),
            id_field="access_key_id",
        ),
        Platform(
            "azure_openai",
            "Azure OpenAI",
            "both",
            ("input_uncached_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "images"),
            "A Microsoft Entra app registration (service principal) with the Cost Management Reader "
            "role on the subscription or resource group to read (docs/providers.md). Or upload a Cost "
            "Management export (CSV) of the subscription with Azure OpenAI.",
            fields=(
                CredentialField(
                    "tenant_id",
                    "Directory (tenant) ID",
                    False,
                    _GUID,
                    "The Directory (tenant) ID on the app registration's Overview page: a GUID such as "
                    "00000000-0000-0000-0000-000000000000.",
                    36,
                ),
                CredentialField(
                    "client_id",
                    "Application (client) ID",
                    False,
                    _GUID,
                    "The Application (client) ID on the app registration's Overview page: a GUID.",
                    36,
                ),
                CredentialField(
                    "client_secret",
                    "Client secret value",
                    True,
                    r"[!-~]{16,256}",
                    "The client secret's Value (not its Secret ID), shown once when the secret is created "
                    "under Certificates & secrets.",
                    256,
                ),
                CredentialField(
                    "scope",
                    "Subscription or resource group",
                    False,
                    rf"(/subscriptions/)?{_GUID}(/resourceGroups/[A-Za-z0-9_.\-\(\)]{{1,90}})?",
                    "The subscription ID (a GUID), /subscriptions/<id>, or "
                    "/subscriptions/<id>/resourceGroups/<name> to read only one resource group.",
                    160,
                ),
            ),
            id_field="client_id",
        ),
        Platform(
            "mistral",
            "Mistral",
            "file",
            ("input_uncached_tokens", "output_tokens"),
            "Upload the usage/billing export from the Mistral console.",
        ),
        Platform("cohere", "Cohere", "file", ("input_uncached_tokens", "output_tokens"), _FILE_ONLY),
        Platform(
            "groq",
            "Groq",
            "file",
            ("input_uncached_tokens", "output_tokens", "seconds", "characters"),
            _FILE_ONLY,
        ),
        Platform(
            "together",
            "Together AI",
            "file",
            ("input_uncached_tokens", "output_tokens", "images"),
            _FILE_ONLY,
        ),
        Platform(
            "perplexity",
            "Perplexity",
            "file",
            ("input_uncached_tokens", "output_tokens", "requests"),
            _FILE_ONLY,
        ),
        Platform("assemblyai", "AssemblyAI", "file", ("seconds",), _FILE_ONLY),
        Platform("replicate", "Replicate", "file", ("seconds",), _FILE_ONLY),
        Platform(
            "pinecone",
            "Pinecone",
            "file",
            ("operations",),
            "Upload the usage CSV from the Pinecone console (Settings > Usage).",
        ),
    )
}


def list_platforms() -> list[Platform]:
    return list(PLATFORMS.values())


def get_platform(platform_id: str) -> Platform:
    """The platform with this id; raises UnknownPlatform (an InvalidKey) otherwise."""
    platform = PLATFORMS.get(platform_id) if isinstance(platform_id, str) else None
    if platform is None:
        raise UnknownPlatform(str(platform_id))
    return platform


def key_problem(platform_id: str, api_key: str) -> str | None:
    """The user-facing problem with (platform, key), or None if the key looks usable."""
    try:
        return get_platform(platform_id).key_problem(api_key)
    except UnknownPlatform as exc:
        return exc.message


def validate_key(platform_id: str, api_key: str) -> None:
    """Raise InvalidKey (field "platform" or "api_key") unless the key fits the platform."""
    platform = get_platform(platform_id)
    problem = platform.key_problem(api_key)
    if problem is not None:
        raise InvalidKey(problem, "api_key" if platform.accepts_keys else "platform")


def validate_fields(platform_id: str, values: Any) -> str:
    """The canonical secret (a JSON document of the fields) of a multi-field credential; raises
    InvalidKey (field "platform", "fields" or "fields.<name>") unless every field fits."""
    platform = get_platform(platform_id)
    problem = platform.fields_problem(values)
    if problem is not None:
        raise InvalidKey(problem[1], problem[0])
    return json.dumps(
        {f.name: values[f.name] for f in platform.fields if not f.missing(values.get(f.name))},
        sort_keys=True,
        separators=(",", ":"),
    )


def credential_last4(platform_id: str, secret: str) -> str:
    """What identifies a stored credential in lists: the id field's last 4 characters for a
    multi-field credential (never a secret field), else the key's last 4."""
    platform = get_platform(platform_id)
    if platform.fields and platform.identify is not None:
        return platform.identify(parse_fields(platform_id, secret))[-4:]
    if platform.fields and platform.id_field:
        return str(parse_fields(platform_id, secret)[platform.id_field])[-4:]
    return secret[-4:]


def parse_fields(platform_id: str, secret: str) -> dict[str, str]:
    """The fields of a revealed multi-field credential; raises InvalidKey if it is not one."""
    platform = get_platform(platform_id)
    try:
        values = json.loads(secret)
    except (TypeError, ValueError):
        values = None
    if not isinstance(values, dict) or platform.fields_problem(values) is not None:
        raise InvalidKey(f"The stored {platform.name} credential is incomplete: add it again.", "fields")
    return {str(k): str(v) for k, v in values.items()}
