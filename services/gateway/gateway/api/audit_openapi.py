"""OpenAPI paths and schemas of the audit endpoints (gateway.api.audit)."""

from __future__ import annotations

from typing import Any

from gateway.openapi import page_of, problem, ref

_NULLABLE = {"type": ["string", "null"]}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "AuditEvent": {
        "type": "object",
        "required": ["id", "at", "actor", "action", "target", "ip", "user_agent", "request_id", "outcome"],
        "properties": {
            "id": {"type": "string"},
            "at": {"type": "string", "format": "date-time", "description": "UTC, millisecond precision"},
            "actor": {
                "type": "string",
                "description": "account:<id>, service:<name> (a service acting on its own), "
                "operator:<who> or anonymous (not signed in yet)",
            },
            "action": {"type": "string", "description": "A dotted verb, e.g. credential.create"},
            "target": {
                "type": "object",
                "properties": {"type": _NULLABLE, "id": _NULLABLE},
            },
            "ip": {**_NULLABLE, "description": "The client's address as the gateway saw it"},
            "user_agent": _NULLABLE,
            "request_id": {**_NULLABLE, "description": "The X-Request-ID of the request that caused it"},
            "outcome": {"type": "string", "enum": ["success", "failure", "denied"]},
            "service": {"type": "string", "description": "The service that recorded the event"},
            "details": {"type": "object", "description": "Facts about the action (never secrets)"},
        },
    },
}

_COMMON_ERRORS = {
    "400": problem("A malformed filter or cursor"),
    "503": problem("A service holding audit events is unavailable"),
}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/audit-events": {
        "get": {
            "summary": "The account's audit events, newest first (kept 12 months)",
            "responses": {
                "200": page_of("AuditEvent"),
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
                        "application/json": {"schema": {"type": "array", "items": ref("AuditEvent")}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_COMMON_ERRORS,
            },
        }
    },
}
