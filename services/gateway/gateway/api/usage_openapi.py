"""OpenAPI route metadata of the usage endpoints (gateway.api.usage); the answers' schemas come
from their response models (gateway.api.usage_models)."""

from __future__ import annotations

from typing import Any

from gateway.api.usage_models import MonthToDate, SyncRun, SyncRunEnvelope, UsageRecord, UsageSummary
from gateway.openapi import json_body, page_of, problem

_400 = problem("Invalid parameters")


OPENAPI_PATHS: dict[str, Any] = {
    "/v1/credentials/{credential_id}/sync": {
        "post": {
            "summary": (
                "Sync this credential's usage now (default: the last 30 days; as far back as the plan's "
                "history: 90 days on Free, 365 on Professional)"
            ),
            "responses": {
                "202": json_body(
                    SyncRunEnvelope, "Queued (or the queued/running run that already covers it)"
                ),
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
            "responses": {"200": page_of(SyncRun)},
        }
    },
    "/v1/sync-runs/{run_id}": {
        "get": {
            "summary": "One sync run",
            "responses": {"200": json_body(SyncRunEnvelope), "404": problem("No such sync run")},
        },
    },
    "/v1/usage/summary": {
        "get": {
            "summary": (
                "Total cost and units, grouped by any ordered subset of day, platform, model, source, "
                "credential_id, project and api_key"
            ),
            "responses": {"200": json_body(UsageSummary)},
        }
    },
    "/v1/usage/month-to-date": {
        "get": {
            "summary": "Month to date against the same days of the previous month (one request)",
            "responses": {"200": json_body(MonthToDate)},
        }
    },
    "/v1/usage/records": {
        "get": {
            "summary": "Daily records by date, platform, model (cursor pagination)",
            "responses": {"200": page_of(UsageRecord)},
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
