"""Plans and payments: the plan catalog, Stripe Checkout and customer-portal links, and Stripe's
webhook. The auth service talks to Stripe and owns the plan; this module shapes the REST side
and, when a webhook moves a plan, tells the usage service (which pauses scheduled syncs the new
plan does not allow)."""

from __future__ import annotations

from typing import Any

import grpc
from aicosts.auth.v1 import auth_pb2
from flask import Blueprint, g, jsonify, request
from pydantic import Field, StrictStr
from svccommon.channels import trailing_metadata
from svccommon.plans import PLANS

from gateway.api.auth_support import Body
from gateway.api.billing_models import Plan, Redirect, StripeEvent, WebhookReceipt
from gateway.authn import auth_rpc, require_account
from gateway.bodies import body_limit
from gateway.openapi import body, json_body, page_of, problem, raw_body
from gateway.problems import Problem

bp = Blueprint("billing", __name__)

STRIPE_TIMEOUT_S = 30.0  # auth calls Stripe inside these (10 s per attempt, retried)
WEBHOOK_MAX_BYTES = 512 * 1024  # Stripe events are a few KB; refuse anything far larger unread
MAX_SIGNATURE_HEADER = 4096


class CheckoutBody(Body):
    plan: StrictStr = Field(
        min_length=1,
        max_length=64,
        description="A paid plan (GET /v1/billing/plans)",
        json_schema_extra={"enum": [p.id for p in PLANS.values() if p.paid]},
    )


def _auth(method: str, message: Any, timeout: float | None = None) -> Any:
    """Call auth; a bad field becomes a validation problem naming it."""
    try:
        return auth_rpc(method, message, timeout=timeout)
    except grpc.RpcError as exc:
        meta = trailing_metadata(exc)
        if hasattr(exc, "code") and exc.code() == grpc.StatusCode.INVALID_ARGUMENT and meta.get("x-field"):
            detail = exc.details() or "invalid"
            raise Problem(
                400, detail, kind="validation", errors=[{"field": meta["x-field"], "message": detail}]
            ) from None
        raise


@bp.get("/v1/billing/plans")
def list_plans():
    # Public: the pricing page shows it before anyone signs up.
    return jsonify(items=[Plan.model_validate(p.to_dict()).dump() for p in PLANS.values()], next_cursor=None)


@bp.post("/v1/billing/checkout")
@require_account
@body(CheckoutBody)
def checkout(body: CheckoutBody):
    message = auth_pb2.CreateCheckoutSessionRequest(account_id=g.account_id, plan=body.plan)
    reply = _auth("CreateCheckoutSession", message, timeout=STRIPE_TIMEOUT_S)
    return jsonify(Redirect(url=reply.url, session_id=reply.session_id).dump())


@bp.post("/v1/billing/portal")
@require_account
def portal():
    message = auth_pb2.CreatePortalSessionRequest(account_id=g.account_id)
    return jsonify(Redirect(url=_auth("CreatePortalSession", message, timeout=STRIPE_TIMEOUT_S).url).dump())


@bp.post("/v1/webhooks/stripe")
@body_limit(WEBHOOK_MAX_BYTES)
def stripe_webhook():
    """No bearer token: the Stripe-Signature over the raw body is the authentication (checked by
    auth with the signing secret). The body goes on byte for byte, never parsed here."""
    if (request.content_length or 0) > WEBHOOK_MAX_BYTES:
        raise Problem(413, "the body is larger than a Stripe event can be", kind="payload-too-large")
    request.max_content_length = WEBHOOK_MAX_BYTES  # also bounds chunked bodies
    payload = request.get_data(cache=False)
    signature = request.headers.get("Stripe-Signature", "")[:MAX_SIGNATURE_HEADER]
    reply = _auth(
        "HandleStripeWebhook",
        auth_pb2.HandleStripeWebhookRequest(payload=payload, signature=signature),
        timeout=STRIPE_TIMEOUT_S,  # auth reads the event's subscription from Stripe
    )
    # The plan is auth's: usage follows auth's plan changes itself (usage/reconciler.py), so
    # nothing is left to do here once auth has answered.
    return jsonify(WebhookReceipt(received=True, result=reply.result).dump())


_NOT_CONFIGURED = problem("Payments are not configured on this installation, or nothing to manage yet")
_STRIPE_DOWN = problem("Stripe is not answering; try again later")

OPENAPI_PATHS = {
    "/v1/billing/plans": {
        "get": {
            "summary": "The plans on sale, with their limits and features",
            "responses": {"200": page_of(Plan)},
        }
    },
    "/v1/billing/checkout": {
        "post": {
            "summary": "A Stripe Checkout link to subscribe to a paid plan",
            "responses": {
                "200": json_body(Redirect, "Open this URL to pay"),
                "400": problem("Not a paid plan"),
                "422": _NOT_CONFIGURED,
                "503": _STRIPE_DOWN,
            },
        }
    },
    "/v1/billing/portal": {
        "post": {
            "summary": "A Stripe customer-portal link (invoices, payment method, cancel)",
            "responses": {
                "200": json_body(Redirect, "Open this URL to manage the subscription"),
                "422": _NOT_CONFIGURED,
                "503": _STRIPE_DOWN,
            },
        }
    },
    "/v1/webhooks/stripe": {
        "post": {
            "summary": "Stripe webhook endpoint (authenticated by the Stripe-Signature header)",
            "parameters": [
                {"name": "Stripe-Signature", "in": "header", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": raw_body(StripeEvent, "application/json"),
            "responses": {
                "200": json_body(
                    WebhookReceipt, "Received (replays and event types this service ignores too)"
                ),
                "400": problem("Bad or missing signature, stale timestamp, or not a Stripe event"),
                "413": problem("The body is too large"),
                "429": problem("Too many failed deliveries from this client network; wait Retry-After"),
                "503": problem("Try again later (Stripe retries)"),
            },
        }
    },
}
