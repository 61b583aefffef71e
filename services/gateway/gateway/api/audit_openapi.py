"""OpenAPI route metadata of the audit endpoints (gateway.api.audit); the event's schema comes
from its response model (gateway.api.audit_models)."""

from __future__ import annotations

from typing import Any

from gateway.api.audit_models import AuditEvent
from gateway.openapi import page_of, problem

_COMMON_ERRORS = {
    "400": problem("A malformed filter or cursor"),
    "503": problem("A service holding audit events is unavailable"),
}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/audit-events": {
        "get": {
            "summary": "The account's audit events, newest first (kept 12 months)",
            "responses": {
                "200": page_of(AuditEvent),
                **_COMMON_ERRORS,
            },
        }
    },
    "/v1/audit-events/export": {
        "get": {
            "summary": "Download the account's audit events (the same filters); the export is audited",
            "responses": {
                "200": {
                    "description": "A JSON array of events, or CSV with a header row (cells that a "
                    "spreadsheet would read as a formula start with ')",
                    "content": {
                        "application/json": {"schema": {"type": "array", "items": AuditEvent}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_COMMON_ERRORS,
            },
        }
    },
}
