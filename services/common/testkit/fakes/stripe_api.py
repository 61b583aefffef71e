"""A small Stripe API on loopback for the auth service's payments path, driven by the real
`stripe` SDK through STRIPE_API_BASE: form-encoded POST /v1/customers, /v1/checkout/sessions and
/v1/billing_portal/sessions with the documented object shapes (ids like cus_..., cs_test_...,
a `url`), GET /v1/subscriptions/{id} with the subscription's current state (404
resource_missing for one it never created), Bearer secret-key checks, Idempotency-Key replays,
and Stripe's error envelope.

It also builds the webhook events Stripe would send for what happened here (a completed checkout,
subscription changes) and signs them the way Stripe does (`t=...,v1=HMAC_SHA256(secret,
f"{t}.{payload}")`), so tests post exactly what a real delivery carries.

    with FakeStripe() as fake:
        env = fake.stack_env()   # STRIPE_API_BASE, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, price
        body, headers = fake.signed(fake.checkout_completed(session_id))

Like Stripe, the fake keeps each subscription's current state apart from the events about it: a
completed checkout starts one, subscription_of() and invoice_failed() change it, and an event
built earlier keeps the state it was built with.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl

SECRET_KEY = "sk_test_fake_stripe_secret_key_0123456789"
WEBHOOK_SECRET = "whsec_test_fake_webhook_signing_secret_0123"
PRICE_PROFESSIONAL = "price_test_professional_monthly"


def stripe_id(prefix: str, length: int = 24) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def sign(payload: str | bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header value for a payload (one v1 signature)."""
    t = int(time.time()) if timestamp is None else timestamp
    text = payload.decode() if isinstance(payload, bytes) else payload
    mac = hmac.new(secret.encode(), f"{t}.{text}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    params: dict[str, str]  # form fields as the SDK encodes them: "metadata[account_id]", ...
    headers: dict[str, str] = field(repr=False)


class FakeStripe:
    def __init__(
        self,
        secret_key: str = SECRET_KEY,
        webhook_secret: str = WEBHOOK_SECRET,
        prices: dict[str, str] | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.prices = prices or {"professional": PRICE_PROFESSIONAL}
        self.requests: list[SeenRequest] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}  # id -> Stripe's current state
        self.failures: list[int] = []  # statuses the next requests get, in order
        self._replays: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._clock = itertools.count(int(time.time()))
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def stack_env(self) -> dict[str, str]:
        return {
            "STRIPE_API_BASE": self.url,
            "STRIPE_SECRET_KEY": self.secret_key,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_PRICE_PROFESSIONAL": self.prices["professional"],
        }

    def seen(self, path: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # --- the API ------------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(SeenRequest(method, path, params, headers))
            if headers.get("authorization") != f"Bearer {self.secret_key}":
                return 401, _error("Invalid API Key provided.", "invalid_request_error")
            if self.failures:
                status = self.failures.pop(0)
                return status, _error("Something went wrong on Stripe's end.", "api_error")
            key = headers.get("idempotency-key", "")
            if key and (path, key) in self._replays:
                return self._replays[(path, key)]
            if method == "GET" and path.startswith("/v1/subscriptions/"):
                return self._subscription_state(path.removeprefix("/v1/subscriptions/"))
            route = {
                ("POST", "/v1/customers"): self._customer,
                ("POST", "/v1/checkout/sessions"): self._checkout_session,
                ("POST", "/v1/billing_portal/sessions"): self._portal_session,
            }.get((method, path))
            result = route(params) if route else (404, _error(f"Unrecognized request URL ({method}: {path})"))
            if key and result[0] == 200:
                self._replays[(path, key)] = result
            return result

    def _customer(self, p: dict[str, str]) -> tuple[int, Any]:
        customer = {
            "id": stripe_id("cus_", 14),
            "object": "customer",
            "email": p.get("email"),
            "name": p.get("name"),
            "metadata": _nested(p, "metadata"),
            "created": next(self._clock),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return 200, customer

    def _checkout_session(self, p: dict[str, str]) -> tuple[int, Any]:
        if p.get("customer") not in self.customers:
            return 400, _error(
                f"No such customer: '{p.get('customer')}'", code="resource_missing", param="customer"
            )
        if p.get("line_items[0][price]") not in self.prices.values():
            return 400, _error("No such price", code="resource_missing", param="line_items[0][price]")
        if p.get("mode") != "subscription":
            return 400, _error("This fake only sells subscriptions", param="mode")
        session_id = stripe_id("cs_test_", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "customer": p["customer"],
            "client_reference_id": p.get("client_reference_id"),
            "metadata": _nested(p, "metadata"),
            "subscription_metadata": _nested(p, "subscription_data[metadata]"),  # kept for events
            "price": p["line_items[0][price]"],
            "status": "open",
            "payment_status": "unpaid",
            "subscription": None,
            "success_url": p.get("success_url"),
            "cancel_url": p.get("cancel_url"),
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "created": next(self._clock),
            "livemode": False,
        }
        self.sessions[session_id] = session
        return 200, {k: v for k, v in session.items() if k not in ("subscription_metadata", "price")}

    def _portal_session(self, p: dict[str, str]) -> tuple[int, Any]:
        if p.get("customer") not in self.customers:
            return 400, _error(
                f"No such customer: '{p.get('customer')}'", code="resource_missing", param="customer"
            )
        session_id = stripe_id("bps_", 24)
        return 200, {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": p["customer"],
            "return_url": p.get("return_url"),
            "url": f"https://billing.stripe.com/p/session/test_{session_id[4:]}",
            "created": next(self._clock),
            "livemode": False,
        }

    def _subscription_state(self, sub_id: str) -> tuple[int, Any]:
        if sub_id not in self.subscriptions:
            return 404, _error(f"No such subscription: '{sub_id}'", code="resource_missing", param="id")
        return 200, copy.deepcopy(self.subscriptions[sub_id])

    # --- webhook events -----------------------------------------------------------------------

    def event(self, event_type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
        return {
            "id": stripe_id("evt_test_", 24),
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(time.time()) if created is None else created,
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": obj},
        }

    def checkout_completed(self, session_id: str, paid: bool = True, created: int | None = None) -> dict:
        """Stripe's event after the customer paid on the session's page (a subscription starts)."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(status="complete", payment_status="paid" if paid else "unpaid")
            session["subscription"] = session["subscription"] or stripe_id("sub_", 24)
            obj = {k: v for k, v in session.items() if k not in ("subscription_metadata", "price")}
            # A subscription whose first payment is still due is "incomplete" (Stripe's API).
            self._set_state(session_id, "active" if paid else "incomplete")
        return self.event("checkout.session.completed", obj, created)

    def subscription_of(self, session_id: str, status: str = "active") -> dict[str, Any]:
        """Move the subscription a completed session started to `status` on Stripe's side (as a
        cancellation or a failed renewal does), and return it as an event would carry it."""
        with self._lock:
            return copy.deepcopy(self._set_state(session_id, status))

    def _set_state(self, session_id: str, status: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        sub_id = session["subscription"]
        if sub_id not in self.subscriptions:
            self.subscriptions[sub_id] = self.subscription(
                sub_id, session["customer"], status, session["price"], session["subscription_metadata"]
            )
        self.subscriptions[sub_id]["status"] = status
        return self.subscriptions[sub_id]

    def subscription(
        self, sub_id: str, customer: str, status: str, price: str, metadata: dict[str, str] | None = None
    ) -> dict[str, Any]:
        now = int(time.time())
        return {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "metadata": metadata or {},
            "cancel_at_period_end": False,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": stripe_id("si_", 14),
                        "object": "subscription_item",
                        "price": {"id": price, "object": "price", "recurring": {"interval": "month"}},
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": now + 30 * 86400,
                    }
                ],
            },
            "livemode": False,
        }

    def invoice_failed(self, sub_id: str, customer: str, created: int | None = None) -> dict[str, Any]:
        """A renewal that could not be charged: Stripe moves an active subscription to past_due."""
        with self._lock:
            state = self.subscriptions.get(sub_id)
            if state is not None and state["status"] == "active":
                state["status"] = "past_due"
        invoice = {
            "id": stripe_id("in_", 24),
            "object": "invoice",
            "customer": customer,
            "status": "open",
            "attempt_count": 1,
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub_id}},
        }
        return self.event("invoice.payment_failed", invoice, created)

    def signed(
        self, event: dict[str, Any], timestamp: int | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a delivery of `event`, as Stripe sends it."""
        body = json.dumps(event, indent=2)
        header = sign(body, secret or self.webhook_secret, timestamp)
        return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8"}


def _nested(params: dict[str, str], prefix: str) -> dict[str, str]:
    """`metadata[a]=1` → {"a": "1"} for one level under `prefix`."""
    start = f"{prefix}["
    return {
        k[len(start) : -1]: v
        for k, v in params.items()
        if k.startswith(start) and "][" not in k[len(start) :]
    }


def _error(
    message: str, kind: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> dict:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else query
            params = dict(parse_qsl(raw, keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = fake.answer(self.command, path, params, headers)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", stripe_id("req_", 14))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve  # noqa: N815 (http.server API)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
