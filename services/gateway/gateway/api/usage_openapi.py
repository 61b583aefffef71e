"""OpenAPI paths and schemas of the usage endpoints (gateway.api.usage)."""

from __future__ import annotations

from typing import Any

from gateway.openapi import json_body, page_of, problem, ref

_MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "USD, exact decimal"}
_DAY = {"type": "string", "format": "date"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_UNITS = {"type": "object", "additionalProperties": {"type": "integer"}}
_FLAGS = {
    "provisional": {"type": "boolean", "description": "Includes recent days the provider may revise"},
    "estimated": {"type": "boolean", "description": "Includes costs computed from a price table"},
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "SyncRun": {
        "type": "object",
        "required": [
            "id",
            "credential_id",
            "platform",
            "status",
            "from",
            "to",
            "days",
            "records",
            "started_at",
            "finished_at",
        ],
        "properties": {
            "id": {"type": "string"},
            "credential_id": {"type": "string"},
            "platform": {"type": "string"},
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "partial"]},
            "reason": {"type": "string", "enum": ["manual", "backfill", "scheduled"]},
            "from": _DAY,
            "to": _DAY,
            "days": {"type": "integer", "description": "Days fetched and stored so far"},
            "days_total": {"type": "integer", "description": "Days in the range, up to today"},
            "records": {"type": "integer", "description": "Records written"},
            "error": {"type": ["string", "null"], "description": "Why the run failed or was partial"},
            "failed_days": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"date": _DAY, "error": {"type": "string"}},
                },
            },
            "unavailable_days": {
                "type": "array",
                "description": "Days the provider's API cannot give (outside the window it serves); "
                "never requested and not failures",
                "items": {
                    "type": "object",
                    "properties": {"from": _DAY, "to": _DAY, "reason": {"type": "string"}},
                },
            },
            "kept_days": {
                "type": "array",
                "description": "Days the provider answered empty although costs were stored: the stored "
                "records were kept and flagged; a second empty answer in a later sync erases them",
                "items": {
                    "type": "object",
                    "properties": {"date": _DAY, "reason": {"type": "string"}},
                },
            },
            "notice": {
                "type": ["string", "null"],
                "description": "What to know about a run that did not fail",
            },
            "queued_at": _TIME,
            "started_at": _TIME,
            "finished_at": _TIME,
        },
    },
    "UsageGroup": {
        "type": "object",
        "required": ["cost_usd", "units", "records", "provisional", "estimated"],
        "properties": {
            "day": _DAY,
            "platform": {"type": "string"},
            "model": {"type": "string"},
            "source": {"type": "string", "enum": ["api", "file"]},
            "credential_id": {"type": "string", "description": 'The key that synced it; "" for files'},
            "project": {
                "type": "string",
                "description": 'The provider\'s project or workspace id; "" for money it does not attribute',
            },
            "project_name": {"type": ["string", "null"], "description": "Its current name at the provider"},
            "api_key": {
                "type": "string",
                "description": 'The provider\'s API key id; "" for money it does not attribute',
            },
            "api_key_name": {"type": ["string", "null"], "description": "Its current name at the provider"},
            "cost_usd": _MONEY,
            "units": _UNITS,
            "records": {"type": "integer"},
            **_FLAGS,
        },
    },
    "UsageSummary": {
        "type": "object",
        "required": ["from", "to", "currency", "total_cost_usd", "units", "groups"],
        "properties": {
            "from": _DAY,
            "to": _DAY,
            "currency": {"type": "string", "const": "USD"},
            "total_cost_usd": _MONEY,
            "units": _UNITS,
            "records": {"type": "integer"},
            **_FLAGS,
            "groups": {"type": "array", "items": ref("UsageGroup")},
            "others": {
                "description": (
                    "With `top`: every group beyond the first N, summed (`groups` says how many); "
                    "null when nothing was left out"
                ),
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {
                            "cost_usd": _MONEY,
                            "units": _UNITS,
                            "records": {"type": "integer"},
                            "groups": {"type": "integer"},
                            **_FLAGS,
                        },
                    },
                ],
            },
        },
    },
    "PeriodTotal": {
        "type": "object",
        "required": ["from", "to", "cost_usd", "units", "records"],
        "properties": {
            "from": _DAY,
            "to": _DAY,
            "cost_usd": _MONEY,
            "units": _UNITS,
            "records": {"type": "integer"},
            **_FLAGS,
        },
    },
    "MonthToDate": {
        "type": "object",
        "required": ["currency", "current", "previous", "change_usd", "change_ratio"],
        "properties": {
            "currency": {"type": "string", "const": "USD"},
            "current": ref("PeriodTotal"),
            "previous": ref("PeriodTotal"),
            "change_usd": _MONEY,
            "change_ratio": {
                "type": ["string", "null"],
                "description": "(current - previous) / previous, 4 decimals; null when previous is 0",
            },
        },
    },
    "UsageRecord": {
        "type": "object",
        "required": [
            "date",
            "platform",
            "model",
            "source",
            "cost_usd",
            "units",
            "line_items",
            "provisional",
            "estimated",
        ],
        "properties": {
            "date": _DAY,
            "platform": {"type": "string"},
            "model": {"type": "string"},
            "source": {"type": "string", "enum": ["api", "file"]},
            "cost_usd": _MONEY,
            "units": _UNITS,
            "line_items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "quantity": {"type": ["string", "null"]},
                        "unit": {"type": "string"},
                        "cost_usd": _MONEY,
                    },
                },
            },
            "provisional": {"type": "boolean", "description": "A recent day the provider may revise"},
            "estimated": {"type": "boolean", "description": "Cost computed from a price table"},
            "credential_id": {"type": ["string", "null"]},
            "upload_id": {"type": ["string", "null"]},
            "project": {"type": ["string", "null"], "description": "The provider's project or workspace id"},
            "api_key": {"type": ["string", "null"], "description": "The provider's API key id"},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "synced_at": _TIME,
        },
    },
}


_400 = problem("Invalid parameters")


_ONE_RUN = {"type": "object", "properties": {"sync_run": ref("SyncRun")}}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/credentials/{credential_id}/sync": {
        "post": {
            "summary": (
                "Sync this credential's usage now (default: the last 30 days; as far back as the plan's "
                "history: 90 days on Free, 365 on Professional)"
            ),
            "responses": {
                "202": json_body(_ONE_RUN, "Queued (or the queued/running run that already covers it)"),
                "400": _400,
                "403": problem(
                    "plan-required: `from` is older than the plan's history, or the plan pauses this key"
                ),
                "404": problem("No such credential in this account"),
                "422": problem("The platform has no usage API (upload a billing file)"),
            },
        },
    },
    "/v1/sync-runs": {
        "get": {
            "summary": "The account's sync runs, newest first",
            "responses": {"200": page_of("SyncRun")},
        }
    },
    "/v1/sync-runs/{run_id}": {
        "get": {
            "summary": "One sync run",
            "responses": {"200": json_body(_ONE_RUN), "404": problem("No such sync run")},
        },
    },
    "/v1/usage/summary": {
        "get": {
            "summary": (
                "Total cost and units, grouped by any ordered subset of day, platform, model, source, "
                "credential_id, project and api_key"
            ),
            "responses": {"200": json_body(ref("UsageSummary"))},
        }
    },
    "/v1/usage/month-to-date": {
        "get": {
            "summary": "Month to date against the same days of the previous month (one request)",
            "responses": {"200": json_body(ref("MonthToDate"))},
        }
    },
    "/v1/usage/records": {
        "get": {
            "summary": "Daily records by date, platform, model (cursor pagination)",
            "responses": {"200": page_of("UsageRecord")},
        }
    },
    "/v1/usage/export": {
        "get": {
            "summary": "The records as CSV (RFC 4180; text cells are formula-injection safe). Professional",
            "responses": {
                "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                "403": problem("plan-required: CSV export is part of the Professional plan"),
            },
        }
    },
}
