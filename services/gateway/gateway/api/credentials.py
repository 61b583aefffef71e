"""Provider credentials: add a provider API key (stored encrypted by keyvault), list them (the
last 4 characters only), get one, delete one. The key itself is never returned or logged.

Platforms whose catalog entry declares ``fields`` (AWS, Azure, Google) take a ``fields`` object instead of
``api_key``; the catalog (svccommon.platforms) validates them and keyvault stores them as one
secret. This module only maps the request."""

from __future__ import annotations

import logging
import re
from typing import Any

import grpc
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.usage.v1 import usage_pb2 as usage_pb
from flask import Blueprint, current_app, g, jsonify
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from svccommon import platforms
from svccommon.failpoints import failpoint

from gateway.api.credentials_models import Credential, CredentialCreated
from gateway.api.usage import sync_run_json
from gateway.authn import require_account
from gateway.jsonfmt import timestamp
from gateway.openapi import body, envelope, json_body, page_of, problem
from gateway.problems import Problem

bp = Blueprint("credentials", __name__)
log = logging.getLogger(__name__)

_CREDENTIAL_ID = re.compile(r"[0-9a-f]{32}")
MAX_FIELDS = 8
# Control characters, line breaks and the format characters that hide or reorder text.
_LABEL = re.compile(
    r"^[^\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]*$"
)
_REGEX_SPECIAL = set(".^$*+?()[]{}|\\")


def _literal(text: str) -> str:
    return "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in text)


def _key_shape(platform: platforms.Platform) -> dict[str, Any]:
    """The keys platforms.validate_key accepts (printable ASCII, the documented prefix) as a schema."""
    prefix = platform.key_prefix or ""
    least, most = max(platforms.MIN_KEY_LENGTH - len(prefix), 0), platforms.MAX_KEY_LENGTH - len(prefix)
    return {
        "required": ["platform", "api_key"],
        "properties": {
            "platform": {"const": platform.id},
            "api_key": {"type": "string", "pattern": f"^{_literal(prefix)}[!-~]{{{least},{most}}}$"},
            "fields": {"type": "null"},
        },
    }


def _fields_shape(platform: platforms.Platform) -> dict[str, Any]:
    """The fields platforms.validate_fields accepts, as a schema."""
    values = {
        f.name: {
            "type": "string",
            # An optional field may also be sent empty (CredentialField.missing).
            "pattern": f"^(?:{f.pattern})$" if f.required else f"^(?:(?:{f.pattern}))?$",
            "maxLength": f.max_length,
            "description": f.help,
        }
        for f in platform.fields
    }
    return {
        "required": ["platform", "fields"],
        "properties": {
            "platform": {"const": platform.id},
            "fields": {
                "type": "object",
                "required": [f.name for f in platform.fields if f.required],
                "properties": values,
                "additionalProperties": False,
            },
            "api_key": {"type": "null"},
        },
    }


def _by_platform(schema: dict[str, Any]) -> None:
    """What each platform of the catalog takes: an api_key or its fields, in the shapes it checks."""
    takes = [p for p in platforms.PLATFORMS.values() if p.accepts_keys]
    schema["oneOf"] = [_fields_shape(p) if p.fields else _key_shape(p) for p in takes]


class NewCredential(BaseModel):
    """Exactly one of api_key (platforms with no fields) or fields (platforms whose GET /v1/platforms
    entry lists fields, e.g. aws_bedrock)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_by_platform)

    platform: str = Field(min_length=1, max_length=64, description="A platform id from GET /v1/platforms")
    # SecretStr: never shown by repr() if the model ends up in a log or error.
    api_key: SecretStr | None = Field(default=None, json_schema_extra={"maxLength": platforms.MAX_KEY_LENGTH})
    fields: dict[str, SecretStr] | None = Field(
        default=None,
        max_length=MAX_FIELDS,
        description="One value per field of the platform (GET /v1/platforms: fields); stored encrypted as "
        "one secret, never returned",
    )
    label: str | None = Field(default=None, max_length=100, json_schema_extra={"pattern": _LABEL.pattern})

    @field_validator("fields")
    @classmethod
    def _field_sizes(cls, value: dict[str, SecretStr] | None) -> dict[str, SecretStr] | None:
        for name, secret in (value or {}).items():
            if len(name) > 64 or len(secret.get_secret_value()) > platforms.MAX_FIELD_LENGTH:
                raise ValueError(f"a field name or value is too long (at most {platforms.MAX_FIELD_LENGTH})")
        return value

    @field_validator("api_key")
    @classmethod
    def _trim_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        key = value.get_secret_value().strip()
        if not key:
            raise ValueError("the key is empty")
        if len(key) > platforms.MAX_KEY_LENGTH:
            raise ValueError(f"the key is longer than {platforms.MAX_KEY_LENGTH} characters")
        return SecretStr(key)

    @field_validator("label")
    @classmethod
    def _trim_label(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not _LABEL.match(value):
            raise ValueError("the label must not contain control characters or line breaks")
        return value or None


def _one_of(body: NewCredential) -> None:
    """Exactly one of api_key and fields; the error names the one this platform takes."""
    if (body.api_key is None) != (body.fields is None):
        return
    wants_fields = bool(platforms.PLATFORMS.get(body.platform) and platforms.PLATFORMS[body.platform].fields)
    name = "fields" if wants_fields else "api_key"
    message = (
        f"{name} is required" if body.api_key is None else "send either api_key or fields, not both"
    ) + " (GET /v1/platforms lists the fields of the platforms that take them)"
    raise Problem(400, message, kind="validation", errors=[{"field": name, "message": message}])


def _keyvault():
    return current_app.extensions["backends"]["keyvault"]


def credential(c: kv.Credential) -> Credential:
    return Credential(
        id=c.id,
        platform=c.platform,
        label=c.label,
        last4=c.last4,
        status=c.status,
        status_message=c.status_message or None,
        created_at=timestamp(c, "created_at"),
        last_sync_at=timestamp(c, "last_sync_at"),
    )


def credential_json(c: kv.Credential) -> dict[str, Any]:
    return credential(c).dump()


def _credential_id(raw: str) -> str:
    if not _CREDENTIAL_ID.fullmatch(raw):
        raise Problem(404, "credential not found", kind="not-found")
    return raw


@bp.post("/v1/credentials")
@require_account
@body(NewCredential)
def create_credential(body: NewCredential):
    api_key = body.api_key.get_secret_value() if body.api_key is not None else ""
    fields = {k: v.get_secret_value() for k, v in (body.fields or {}).items()}
    _one_of(body)
    try:
        if body.fields is not None:
            platforms.validate_fields(body.platform, fields)
        else:
            platforms.validate_key(body.platform, api_key)
    except platforms.InvalidKey as exc:
        raise Problem(
            400, exc.message, kind="validation", errors=[{"field": exc.field, "message": exc.message}]
        ) from None
    # keyvault refuses an unverified account and a key beyond the plan's limit (asking auth).
    reply = _keyvault().call(
        "StoreCredential",
        kv.StoreCredentialRequest(
            account_id=g.account_id,
            platform=body.platform,
            api_key=api_key,
            fields=fields,
            label=body.label or "",
        ),
    )
    failpoint("credential-stored")  # tests: usage's reconciler must still backfill the key
    created = CredentialCreated(
        credential=credential(reply.credential), sync_run=_start_backfill(reply.credential.id)
    )
    response = jsonify(created.dump())
    response.status_code = 201
    response.headers["Location"] = f"/v1/credentials/{reply.credential.id}"
    return response


def _start_backfill(credential_id: str) -> dict[str, Any] | None:
    """A new credential starts a backfill of the plan's history (usage asks auth: 90 days on Free,
    365 on Professional) and so joins the scheduled syncs. Only a fast path, so the user sees the run
    at once: usage's reconciler starts the same backfill (one run per key, whoever is first) from
    keyvault's change feed, so a usage outage or a crash here loses nothing."""
    try:
        reply = current_app.extensions["backends"]["usage"].call(
            "StartSync",
            usage_pb.StartSyncRequest(
                account_id=g.account_id,
                credential_id=credential_id,
                reason="backfill",
            ),
        )
    except grpc.RpcError as exc:
        code = exc.code() if hasattr(exc, "code") else None
        log.warning("backfill not started", extra={"grpc_code": getattr(code, "name", "?")})
        return None
    return sync_run_json(reply.run)


@bp.get("/v1/credentials")
@require_account
def list_credentials():
    reply = _keyvault().call("ListCredentials", kv.ListCredentialsRequest(account_id=g.account_id))
    return jsonify(items=[credential_json(c) for c in reply.credentials], next_cursor=None)


@bp.get("/v1/credentials/<credential_id>")
@require_account
def get_credential(credential_id: str):
    reply = _keyvault().call(
        "GetCredential",
        kv.GetCredentialRequest(account_id=g.account_id, credential_id=_credential_id(credential_id)),
    )
    return jsonify(credential=credential_json(reply.credential))


@bp.delete("/v1/credentials/<credential_id>")
@require_account
def delete_credential(credential_id: str):
    credential_id = _credential_id(credential_id)
    _keyvault().call(
        "DeleteCredential", kv.DeleteCredentialRequest(account_id=g.account_id, credential_id=credential_id)
    )
    failpoint("credential-deleted")  # tests: usage's reconciler must still forget the key
    # The key is gone (keyvault is authoritative, its tombstone is in the change feed). Telling
    # usage now is a fast path: usage's reconciler forgets the key from keyvault's feed anyway,
    # and a sync that still starts finds no credential and stops.
    try:
        current_app.extensions["backends"]["usage"].call(
            "ForgetCredential",
            usage_pb.ForgetCredentialRequest(account_id=g.account_id, credential_id=credential_id),
        )
    except grpc.RpcError as exc:
        code = exc.code() if hasattr(exc, "code") else None
        log.warning(
            "usage could not forget a deleted credential", extra={"grpc_code": getattr(code, "name", "?")}
        )
    return "", 204


_ONE = envelope(credential=Credential)
_NOT_FOUND = problem("No such credential in this account")

OPENAPI_PATHS = {
    "/v1/credentials": {
        "post": {
            "summary": (
                "Add a provider API key or multi-field credential (stored encrypted; only the last 4 "
                "characters of the key or of its id field are shown)"
            ),
            "responses": {
                "201": json_body(CredentialCreated, "Created"),
                "400": problem("Unknown platform, a key of the wrong kind, or a field that does not fit"),
                "403": problem(
                    "plan-required: the plan holds no more keys (Free: 3); or email-unverified: "
                    "the account's email address is not confirmed yet"
                ),
                "422": problem("The account holds the maximum number of credentials"),
            },
        },
        "get": {
            "summary": "The account's provider credentials",
            "responses": {
                "200": page_of(Credential),
            },
        },
    },
    "/v1/credentials/{credential_id}": {
        "get": {
            "summary": "One credential",
            "responses": {"200": _ONE, "404": _NOT_FOUND},
        },
        "delete": {
            "summary": "Delete a credential (its encrypted key is erased)",
            "responses": {"204": {"description": "Deleted"}, "404": _NOT_FOUND},
        },
    },
}
