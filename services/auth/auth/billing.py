"""Buying and managing a plan: a Stripe Checkout Session for a paid plan (the account's Stripe
customer is created once and remembered) and a customer-portal session. Plans change only when
Stripe's signed webhooks say so (auth.webhooks), never here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from svccommon.errors import FailedPrecondition
from svccommon.plans import PLANS, effective_plan

from auth import accounts
from auth.core import Core, Doc
from auth.errors import EmailUnverified, FieldInvalid
from auth.store.accounts import BillingFields
from auth.stripe_api import CheckoutSession, StripeApi
from auth.stripe_config import StripeConfig
from auth.webhooks import Webhooks

NOT_CONFIGURED = "payments are not configured on this installation"
DEFAULT_CHANGES_PAGE, MAX_CHANGES_PAGE = 100, 500


def plan_changes(store: BillingFields, after: tuple[dt.datetime, str] | None, limit: int) -> list[Doc]:
    """Accounts whose plan changed, in change order, for usage's reconciler (ListPlanChanges)."""
    if not 0 <= limit <= MAX_CHANGES_PAGE:
        raise FieldInvalid("limit", f"limit must be between 1 and {MAX_CHANGES_PAGE}", "limit_invalid")
    if after is not None and len(after[1]) > 128:
        raise FieldInvalid("after_account_id", "after_account_id is malformed", "cursor_invalid")
    return store.plan_changes_after(after, limit or DEFAULT_CHANGES_PAGE)


class Billing:
    def __init__(
        self, core: Core, store: BillingFields, cfg: StripeConfig | None, api: StripeApi | None = None
    ) -> None:
        self.core = core
        self.store = store
        self.cfg = cfg
        self.api = api or (StripeApi(cfg) if cfg is not None else None)

    def _stripe(self) -> tuple[StripeConfig, StripeApi]:
        if self.cfg is None or self.api is None:
            raise FailedPrecondition(NOT_CONFIGURED)
        return self.cfg, self.api

    def checkout(self, account_id: str, plan_id: str) -> CheckoutSession:
        cfg, api = self._stripe()
        plan = PLANS.get(plan_id)
        sold = [p for p in PLANS.values() if p.paid and p.id in cfg.prices]
        if plan is None or plan not in sold:
            names = ", ".join(p.id for p in sold)
            raise FieldInvalid("plan", f"choose a paid plan to subscribe to: {names}", "plan_invalid")
        account = accounts.require(self.core, account_id)
        if not account.get("email_verified"):
            # Unverified accounts expire after 7 days: one must never hold a paid subscription.
            self.core.record(
                "billing.checkout_started", "denied", account_id=account_id, reason="email_unverified"
            )
            raise EmailUnverified("buying a plan")
        if effective_plan(account.get("plan")).id == plan.id:
            raise FailedPrecondition(
                f"this account is already on the {plan.name} plan; manage the subscription in the "
                "billing portal (POST /v1/billing/portal)"
            )
        customer_id = self._customer(account, api)
        session = api.create_checkout_session(account_id, customer_id, plan.id)
        self.core.record(
            "billing.checkout_started", account_id=account_id, target_type="plan", target_id=plan.id
        )
        return session

    def portal(self, account_id: str) -> str:
        _, api = self._stripe()
        account = accounts.require(self.core, account_id)
        customer_id = (account.get("billing") or {}).get("stripe_customer_id")
        if not customer_id:
            raise FailedPrecondition("there is no subscription to manage yet; upgrade to a paid plan first")
        url = api.create_portal_session(customer_id)
        self.core.record("billing.portal_opened", account_id=account_id)
        return url

    def _customer(self, account: Doc, api: StripeApi) -> str:
        known = (account.get("billing") or {}).get("stripe_customer_id")
        if known:
            return known
        created = api.create_customer(account["_id"], account["email"], account["name"])
        stored = self.store.set_customer(account["_id"], created, self.core.utcnow())
        customer_id = ((stored or {}).get("billing") or {}).get("stripe_customer_id") or created
        if customer_id == created:
            self.core.record(
                "billing.customer_created",
                account_id=account["_id"],
                target_type="stripe_customer",
                target_id=created,
            )
        return customer_id


@dataclass(frozen=True)
class Payments:
    """What the servicer needs for plans and payments, built once per process."""

    billing: Billing
    webhooks: Webhooks
