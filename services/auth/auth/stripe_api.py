"""The calls auth makes to Stripe, through the official SDK (`stripe.StripeClient`): create the
account's customer, a Checkout Session for a subscription, a customer-portal session, and read a
subscription's current state (what a webhook event about it is applied as).

Stripe errors become svccommon errors a user can act on; only the error's type, code and HTTP
status are logged (messages can echo request data such as the email address)."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import stripe
from svccommon.errors import Unavailable

from auth.stripe_config import StripeConfig

log = logging.getLogger("auth.stripe")

TIMEOUT_S = 10.0
RETRIES = 2  # the SDK retries with an idempotency key, so a retried POST never doubles
UNAVAILABLE = "payments are unavailable right now; try again in a few minutes"
_SUBSCRIPTION_ID = re.compile(r"^sub_[A-Za-z0-9_]{1,250}$")


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@contextlib.contextmanager
def _stripe_call(operation: str) -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as exc:
        level = (
            logging.WARNING
            if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError))
            else logging.ERROR
        )
        log.log(
            level,
            "stripe call failed",
            extra={
                "operation": operation,
                "error_type": type(exc).__name__,
                "stripe_code": getattr(exc, "code", None) or "",
                "http_status": getattr(exc, "http_status", None) or 0,
            },
        )
        raise Unavailable(UNAVAILABLE) from None


class StripeApi:
    def __init__(self, cfg: StripeConfig, timeout_s: float = TIMEOUT_S) -> None:
        # The SDK logs request parameters (the email) and response bodies at DEBUG, URLs at INFO.
        logging.getLogger("stripe").setLevel(logging.WARNING)
        self.cfg = cfg
        self.client = stripe.StripeClient(
            cfg.secret_key,
            base_addresses={"api": cfg.api_base},
            http_client=stripe.RequestsClient(timeout=timeout_s),
            max_network_retries=RETRIES,
        )

    def create_customer(self, account_id: str, email: str, name: str) -> str:
        """The account's Stripe customer id. The idempotency key makes concurrent or repeated
        first checkouts of one account get the same customer from Stripe."""
        with _stripe_call("create_customer"):
            customer = self.client.v1.customers.create(
                params={"email": email, "name": name, "metadata": {"account_id": account_id}},
                options={"idempotency_key": f"aicosts-customer-{account_id}"},
            )
        return customer.id

    def create_checkout_session(self, account_id: str, customer_id: str, plan: str) -> CheckoutSession:
        # The account and plan ride along in metadata so every later event names them.
        metadata = {"account_id": account_id, "plan": plan}
        with _stripe_call("create_checkout_session"):
            session = self.client.v1.checkout.sessions.create(
                params={
                    "mode": "subscription",
                    "customer": customer_id,
                    "client_reference_id": account_id,
                    "line_items": [{"price": self.cfg.prices[plan], "quantity": 1}],
                    "success_url": self.cfg.success_url,
                    "cancel_url": self.cfg.cancel_url,
                    "metadata": metadata,
                    "subscription_data": {"metadata": metadata},
                }
            )
        if not session.url:
            log.error("stripe checkout session without a url", extra={"operation": "create_checkout_session"})
            raise Unavailable(UNAVAILABLE)
        return CheckoutSession(session.id, session.url)

    def create_portal_session(self, customer_id: str) -> str:
        with _stripe_call("create_portal_session"):
            session = self.client.v1.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": self.cfg.portal_return_url}
            )
        return session.url

    def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """The subscription's current state as Stripe's API returns it (GET /v1/subscriptions/{id};
        ended subscriptions stay readable there), or None when Stripe has no such subscription for
        this key. Stripe being unreachable is Unavailable: the webhook delivery fails and Stripe
        delivers it again."""
        if not _SUBSCRIPTION_ID.fullmatch(subscription_id):
            return None
        with _stripe_call("retrieve_subscription"):
            try:
                return self.client.v1.subscriptions.retrieve(subscription_id).to_dict()
            except stripe.InvalidRequestError as exc:
                if getattr(exc, "http_status", None) != 404:
                    raise
        log.warning("stripe has no such subscription", extra={"operation": "retrieve_subscription"})
        return None
