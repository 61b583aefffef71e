"""OpenAPI route metadata of the budget, alert and forecast endpoints (gateway.api.alerts); the
answers' schemas come from their response models (gateway.api.alerts_models)."""

from __future__ import annotations

from typing import Any

from gateway.api.alerts_models import (
    Alert,
    AlertDelivery,
    AlertDestination,
    Budget,
    Forecast,
    MutedAlert,
    NewDestinationAnswer,
    StoredAlertSettings,
)
from gateway.openapi import envelope, json_body, page_of, problem

_BUDGET = envelope(budget=Budget)
_ALERT = envelope(alert=Alert)
_SETTINGS = envelope(settings=StoredAlertSettings)
_NO_BUDGET = problem("No such budget in this account")
_NO_DESTINATION = problem("No such destination in this account")
_NO_ALERT = problem("No such alert in this account")
_PLAN = problem("plan-required: the Free plan holds one budget and sends alerts by email only")
_DELETED = {"description": "Deleted"}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/budgets": {
        "get": {
            "summary": "The account's budgets with their spend and forecast",
            "responses": {"200": page_of(Budget)},
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
            "responses": {"200": page_of(AlertDestination)},
        },
        "post": {
            "summary": (
                "Add a webhook (signed, AICosts-Signature) or Slack destination; a webhook's signing secret "
                "is in this answer only. Professional"
            ),
            "responses": {
                "201": json_body(NewDestinationAnswer, "Created"),
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
                "200": envelope(delivery=AlertDelivery),
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
            "responses": {"200": page_of(AlertDelivery), "404": _NO_DESTINATION},
        }
    },
    "/v1/alerts": {
        "get": {"summary": "Alert history, newest first", "responses": {"200": page_of(Alert)}},
    },
    "/v1/alerts/{alert_id}/acknowledge": {
        "post": {"summary": "Acknowledge an alert", "responses": {"200": _ALERT, "404": _NO_ALERT}},
    },
    "/v1/alerts/{alert_id}/mute": {
        "post": {
            "summary": "No new alert about the same budget or series for some days",
            "responses": {
                "200": json_body(MutedAlert),
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
            "responses": {"200": json_body(Forecast)},
        }
    },
}
