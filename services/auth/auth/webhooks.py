"""Stripe webhooks: the raw body's Stripe-Signature is verified with the SDK (HMAC-SHA256 over
"t.body", any of several v1 signatures while a secret rolls, timestamps older than 300 s
refused) and the event id is claimed once (a replay changes nothing). Stripe does not promise
order, and events of one second cannot be ordered at all, so an event's payload is never
applied: the subscription it names is read from Stripe's API and its current state applied,
unless a state read later was applied already. Every verified delivery is an audit event; plan
changes are audit events of their own; failed deliveries are counted per client network, and a
network with too many is refused for a while (auth.webhook_guard). No event ever holds the
payload or a secret."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe
from svccommon.audit import Outcome
from svccommon.errors import InvalidArgument, Unavailable
from svccommon.failpoints import failpoint
from svccommon.plans import effective_plan

from auth.core import Core, Doc
from auth.store.accounts import BillingFields
from auth.store.stripe_events import Claim, StripeEvents
from auth.stripe_api import StripeApi
from auth.stripe_config import StripeConfig
from auth.stripe_events import Change, change_of, subject
from auth.webhook_guard import WebhookGuard

log = logging.getLogger("auth.webhooks")

TOLERANCE_S = 300
NOT_CONFIGURED = "payments are not configured on this installation; no Stripe webhook is expected"
BAD_SIGNATURE = (
    "the Stripe-Signature header does not match this payload for this endpoint's signing secret, "
    f"or its timestamp is more than {TOLERANCE_S} seconds old"
)
NOT_AN_EVENT = "the payload is not a Stripe event"
_EVENT_ID = re.compile(r"^evt_[A-Za-z0-9_]{1,250}$")


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    event_type: str
    result: str  # applied | ignored | stale | duplicate
    account_id: str = ""
    plan: str = ""
    previous_plan: str = ""
    plan_changed: bool = False


class Webhooks:
    def __init__(
        self,
        core: Core,
        store: BillingFields,
        events: StripeEvents,
        cfg: StripeConfig | None,
        guard: WebhookGuard,
        api: StripeApi | None = None,
    ) -> None:
        self.core = core
        self.store = store
        self.events = events
        self.cfg = cfg
        self.guard = guard
        self.api = api or (StripeApi(cfg) if cfg is not None else None)

    def handle(self, payload: bytes, signature: str) -> WebhookResult:
        if self.cfg is None:
            raise InvalidArgument(NOT_CONFIGURED)
        self.guard.admit()
        event = self._verified(payload, signature, self.cfg.webhook_secret)
        event_id, event_type, created = event["id"], event["type"], event["created"]
        claim, seen = self.events.claim(event_id, event_type, created, self.core.utcnow())
        if claim is Claim.BUSY:
            raise Unavailable("this event is being processed; Stripe delivers it again later")
        if claim is Claim.DONE:
            account_id = (seen or {}).get("account_id") or ""
            result = WebhookResult(event_id, event_type, "duplicate", account_id, self._plan_of(account_id))
        else:
            try:
                result = self._apply(event)
            except Exception:
                self.events.release(event_id)  # Stripe's retry processes it again
                raise
            # A crash here leaves the plan written (with its change time, which usage follows)
            # and the event claimed: Stripe's retry takes the stale claim over and re-applies
            # idempotently (BillingFields.apply keeps the newest subscription state).
            failpoint("stripe-plan-written")
            self.events.finish(event_id, result.result, result.account_id, self.core.utcnow())
        self._audit("success", event_id, event_type, result.account_id, result=result.result)
        return result

    # --- verification ---------------------------------------------------------------------

    def _verified(self, payload: bytes, signature: str, secret: str) -> dict[str, Any]:
        try:
            event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=TOLERANCE_S)
        except stripe.SignatureVerificationError as exc:
            stale = str(exc).startswith("Timestamp outside the tolerance zone")
            reason = "stale_timestamp" if stale else ("no_signature" if not signature else "bad_signature")
            self.guard.failed(reason)
            raise InvalidArgument(BAD_SIGNATURE) from None
        except (ValueError, TypeError, AttributeError, KeyError):
            # Not UTF-8, not JSON, or not an event object (checked before or after the signature).
            self.guard.failed("malformed")
            raise InvalidArgument(NOT_AN_EVENT) from None
        data = event.to_dict()
        if not (
            isinstance(data.get("id"), str)
            and _EVENT_ID.fullmatch(data["id"])
            and isinstance(data.get("type"), str)
            and 0 < len(data["type"]) <= 100
            and isinstance(data.get("created"), int)
        ):
            self.guard.failed("malformed")
            raise InvalidArgument(NOT_AN_EVENT)
        return data

    # --- applying -------------------------------------------------------------------------

    def _apply(self, event: Mapping[str, Any]) -> WebhookResult:
        assert self.cfg is not None and self.api is not None
        event_id, event_type = event["id"], event["type"]
        about = subject(event)
        if about is None:
            return WebhookResult(event_id, event_type, "ignored")
        read_at = self.core.utcnow()  # before the read: a state read later is at least as new
        state = self.api.subscription(about.subscription_id)
        change = change_of(state, about, self.cfg.plan_of_price) if state is not None else None
        account = self._account_of(change) if change is not None else None
        if change is None or account is None:
            return WebhookResult(event_id, event_type, "ignored")
        account_id = account["_id"]
        billing = account.get("billing") or {}
        current_sub = billing.get("subscription_id") or ""
        if change.current_subscription_only and current_sub and change.subscription_id != current_sub:
            return WebhookResult(event_id, event_type, "ignored", account_id, self._plan_of(account_id))
        before = self.store.apply(account_id, read_at, _fields(change, billing), self.core.utcnow())
        if before is None:
            return WebhookResult(event_id, event_type, "stale", account_id, self._plan_of(account_id))
        old = effective_plan(before.get("plan")).id
        new = change.plan or old
        if new != old:
            self.core.audit.record(
                "billing.plan_changed",
                account_id=account_id,
                actor="stripe",
                target_type="account",
                target_id=account_id,
                details={"from": old, "to": new, "event_type": event_type, "event_id": event_id},
            )
            log.info("plan changed", extra={"from_plan": old, "to_plan": new, "event_type": event_type})
        return WebhookResult(
            event_id, event_type, "applied", account_id, new, old if new != old else "", new != old
        )

    def _account_of(self, change: Change) -> Doc | None:
        """The account an event is about: our id in its metadata, else its Stripe customer. An
        event naming an account whose remembered customer is another one is not believed."""
        if change.account_id:
            account = self.store.get(change.account_id)
            known = ((account or {}).get("billing") or {}).get("stripe_customer_id")
            if account is not None and (not known or not change.customer_id or known == change.customer_id):
                return account
            if account is not None:
                log.warning("stripe event names another customer than the account's")
                return None
        return self.store.by_customer(change.customer_id)

    def _plan_of(self, account_id: str) -> str:
        account = self.store.get(account_id)
        return effective_plan(account.get("plan")).id if account else ""

    def _audit(
        self, outcome: Outcome, event_id: str, event_type: str, account_id: str, **details: Any
    ) -> None:
        self.core.audit.record(
            "billing.webhook",
            outcome=outcome,
            account_id=account_id or None,
            actor="stripe",
            target_type="stripe_event",
            target_id=event_id,
            details={"event_type": event_type, **details} if event_type else details,
        )


def _fields(change: Change, billing: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if change.plan:
        fields["plan"] = change.plan
    if change.status:
        fields["billing.subscription_status"] = change.status
    if change.subscription_id:
        fields["billing.subscription_id"] = change.subscription_id
    if change.customer_id and not billing.get("stripe_customer_id"):
        fields["billing.stripe_customer_id"] = change.customer_id
    return fields
