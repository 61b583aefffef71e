"""OpenAPI paths and schemas of the budget, alert and forecast endpoints (gateway.api.alerts)."""

from __future__ import annotations

from typing import Any

from gateway.openapi import json_body, page_of, problem, ref

_MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "USD, exact decimal"}
_MONEY_OR_NULL = {"type": ["string", "null"], "pattern": r"^-?\d+(\.\d+)?$"}
_DAY = {"type": "string", "format": "date"}
_DAY_OR_NULL = {"type": ["string", "null"], "format": "date"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_IDS = {"type": "array", "items": {"type": "string"}}
_PERCENTS = {"type": "array", "items": {"type": "integer"}}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


_FORECAST_LINE = {
    "actual_usd": _MONEY,
    "projected_usd": _MONEY,
    "low_usd": _MONEY,
    "high_usd": _MONEY,
    "method": {"type": "string", "enum": ["seasonal", "run_rate", "complete"]},
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "Budget": _object(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "amount_usd": _MONEY,
            "period": {"type": "string", "enum": ["monthly", "custom"]},
            "start_date": _DAY_OR_NULL,
            "end_date": _DAY_OR_NULL,
            "scope": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": {"type": "string", "enum": ["account", "platform", "model", "credential"]},
                    "platform": {"type": "string"},
                    "model": {"type": "string"},
                    "credential_id": {"type": "string"},
                },
            },
            "thresholds": _PERCENTS,
            "forecast_thresholds": _PERCENTS,
            "email_owner": {"type": "boolean"},
            "emails": _IDS,
            "destination_ids": _IDS,
            "status": _object(
                {
                    "period_start": _DAY,
                    "period_end": _DAY,
                    "spent_usd": _MONEY,
                    "projected_usd": _MONEY_OR_NULL,
                    "projected_low_usd": _MONEY_OR_NULL,
                    "projected_high_usd": _MONEY_OR_NULL,
                    "percent_used": {
                        "type": "string",
                        "description": "spent / amount × 100, one decimal, rounded down",
                    },
                    "projected_crossing": {
                        **_DAY_OR_NULL,
                        "description": "the day the forecast reaches the amount (null: not this period)",
                    },
                    "crossed": {**_PERCENTS, "description": "thresholds on actual spend crossed this period"},
                }
            ),
            "muted_until": _TIME,
            "created_at": _TIME,
            "updated_at": _TIME,
        }
    ),
    "AlertDestination": _object(
        {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": ["webhook", "slack"]},
            "name": {"type": "string"},
            "target": {"type": "string", "description": "scheme and host only (the URL is stored encrypted)"},
            "created_at": _TIME,
            "last_status": {"type": ["string", "null"], "enum": ["delivered", "failing", "gave_up", None]},
            "last_delivery_at": _TIME,
        }
    ),
    "AlertDelivery": _object(
        {
            "id": {"type": "string"},
            "alert_id": {"type": ["string", "null"], "description": "null for a test message"},
            "channel": {"type": "string", "enum": ["email", "webhook", "slack"]},
            "destination_id": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["pending", "delivered", "gave_up"]},
            "attempts": {
                "type": "array",
                "description": "newest first",
                "items": _object(
                    {
                        "at": _TIME,
                        "status_code": {"type": ["integer", "null"], "description": "null: no HTTP answer"},
                        "error": {"type": ["string", "null"]},
                        "duration_ms": {"type": "integer"},
                    }
                ),
            },
            "created_at": _TIME,
            "next_attempt_at": _TIME,
        }
    ),
    "Alert": _object(
        {
            "id": {"type": "string"},
            "kind": {
                "type": "string",
                "enum": ["budget_threshold", "budget_forecast", "spike", "new_model", "key_woke_up"],
            },
            "title": {"type": "string"},
            "message": {"type": "string", "description": "one sentence: what crossed or what is unusual"},
            "budget_id": {"type": ["string", "null"]},
            "subject": {
                "type": ["string", "null"],
                "description": "anomalies: the series, e.g. openai|gpt-4o",
            },
            "date": _DAY,
            "threshold": {"type": ["integer", "null"]},
            "amount_usd": _MONEY,
            "fired_at": _TIME,
            "acknowledged_at": _TIME,
            "deliveries": {"type": "string", "enum": ["pending", "delivered", "failing", "none"]},
        }
    ),
    "AlertSettings": _object(
        {
            "anomalies_enabled": {"type": "boolean"},
            "sensitivity": {"type": "string", "enum": ["low", "normal", "high"]},
            "min_usd": _MONEY,
            "email_owner": {"type": "boolean"},
            "emails": _IDS,
            "destination_ids": _IDS,
        }
    ),
    "Forecast": _object(
        {
            "currency": {"type": "string", "const": "USD"},
            "period_start": _DAY,
            "period_end": _DAY,
            "as_of": _DAY,
            "total": _object(_FORECAST_LINE),
            "platforms": {
                "type": "array",
                "items": _object({"platform": {"type": "string"}, **_FORECAST_LINE}),
            },
        }
    ),
}

_BUDGET = json_body(_object({"budget": ref("Budget")}))
_ALERT = json_body(_object({"alert": ref("Alert")}))
_SETTINGS = json_body(_object({"settings": ref("AlertSettings")}))
_NO_BUDGET = problem("No such budget in this account")
_NO_DESTINATION = problem("No such destination in this account")
_NO_ALERT = problem("No such alert in this account")
_PLAN = problem("plan-required: the Free plan holds one budget and sends alerts by email only")
_DELETED = {"description": "Deleted"}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/budgets": {
        "get": {
            "summary": "The account's budgets with their spend and forecast",
            "responses": {"200": page_of("Budget")},
        },
        "post": {
            "summary": "Create a budget (monthly or custom; for the account, a platform, a model or a key)",
            "responses": {"201": _BUDGET, "403": _PLAN},
        },
    },
    "/v1/budgets/{budget_id}": {
        "get": {"summary": "One budget", "responses": {"200": _BUDGET, "404": _NO_BUDGET}},
        "patch": {
            "summary": "Change a budget (the fields sent replace the stored ones)",
            "responses": {"200": _BUDGET, "403": _PLAN, "404": _NO_BUDGET},
        },
        "delete": {"summary": "Delete a budget", "responses": {"204": _DELETED, "404": _NO_BUDGET}},
    },
    "/v1/alert-destinations": {
        "get": {
            "summary": "Webhook and Slack destinations",
            "responses": {"200": page_of("AlertDestination")},
        },
        "post": {
            "summary": (
                "Add a webhook (signed, AICosts-Signature) or Slack destination; a webhook's signing secret "
                "is in this answer only. Professional"
            ),
            "responses": {
                "201": json_body(
                    _object(
                        {
                            "destination": ref("AlertDestination"),
                            "signing_secret": {
                                "type": ["string", "null"],
                                "description": "webhooks; shown once",
                            },
                        }
                    )
                ),
                "400": problem(
                    "The URL is refused (not https, or an address that could reach private networks)"
                ),
                "403": _PLAN,
                "422": problem("The account already holds the most destinations (20): delete one first"),
            },
        },
    },
    "/v1/alert-destinations/{destination_id}": {
        "delete": {"summary": "Delete a destination", "responses": {"204": _DELETED, "404": _NO_DESTINATION}},
    },
    "/v1/alert-destinations/{destination_id}/test": {
        "post": {
            "summary": "Send a test message once, now; the answer is the delivery with its attempt",
            "responses": {
                "200": json_body(_object({"delivery": ref("AlertDelivery")})),
                "403": problem(
                    "plan-required: the account's plan no longer includes this kind of destination"
                ),
                "404": _NO_DESTINATION,
            },
        }
    },
    "/v1/alert-destinations/{destination_id}/deliveries": {
        "get": {
            "summary": "The destination's delivery log, newest first (status codes and errors per attempt)",
            "responses": {"200": page_of("AlertDelivery"), "404": _NO_DESTINATION},
        }
    },
    "/v1/alerts": {
        "get": {"summary": "Alert history, newest first", "responses": {"200": page_of("Alert")}},
    },
    "/v1/alerts/{alert_id}/acknowledge": {
        "post": {"summary": "Acknowledge an alert", "responses": {"200": _ALERT, "404": _NO_ALERT}},
    },
    "/v1/alerts/{alert_id}/mute": {
        "post": {
            "summary": "No new alert about the same budget or series for some days",
            "responses": {
                "200": json_body(_object({"alert": ref("Alert"), "muted_until": _TIME})),
                "404": _NO_ALERT,
            },
        },
    },
    "/v1/alert-settings": {
        "get": {"summary": "Anomaly detection settings", "responses": {"200": _SETTINGS}},
        "put": {
            "summary": "Change anomaly detection settings (turning it on needs Professional)",
            "responses": {
                "200": _SETTINGS,
                "403": problem("plan-required: anomaly detection is Professional"),
            },
        },
    },
    "/v1/usage/forecast": {
        "get": {
            "summary": "Projected month-end spend, for the account and per platform, with an interval",
            "responses": {"200": json_body(ref("Forecast"))},
        }
    },
}
