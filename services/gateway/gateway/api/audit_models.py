"""The audit event as the audit endpoints (gateway.api.audit) answer it, as a response model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gateway.answers import Answer, Timestamp


class AuditTarget(Answer):
    type: str | None
    id: str | None


class AuditEvent(Answer):
    id: str
    at: Timestamp = Field(description="UTC, millisecond precision")
    actor: str = Field(
        description="account:<id>, service:<name> (a service acting on its own), operator:<who> or anonymous "
        "(not signed in yet)"
    )
    action: str = Field(description="A dotted verb, e.g. credential.create")
    target: AuditTarget
    ip: str | None = Field(description="The client's address as the gateway saw it")
    user_agent: str | None
    request_id: str | None = Field(description="The X-Request-ID of the request that caused it")
    outcome: Literal["success", "failure", "denied"]
    service: str = Field(description="The service that recorded the event")
    details: dict[str, Any] = Field(description="Facts about the action (never secrets)")
