"""The answers of the credential endpoints (gateway.api.credentials), as response models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.answers import Answer, Timestamp
from gateway.api.usage_models import SyncRun


class Credential(Answer):
    id: str
    platform: str
    label: str
    last4: str = Field(
        description="The key's last 4 characters (for a multi-field credential, of its non-secret id "
        "field, e.g. the AWS access key ID); the key is never returned"
    )
    status: Literal["active", "invalid"]
    status_message: str | None = Field(
        description="Why the key is invalid, or why the plan pauses its scheduled syncs"
    )
    created_at: Timestamp
    last_sync_at: Timestamp | None


class CredentialCreated(Answer):
    credential: Credential
    sync_run: SyncRun | None = Field(
        description="The backfill of the key over the plan's history (null if usage is down)"
    )
