"""Wiring only: which servicers this process serves and which services may call each method."""

from __future__ import annotations

import logging
import time

from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from pymongo.database import Database
from svccommon.access_tokens import load_private_key
from svccommon.audit_service import audit_binding, open_audit_log
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE

from auth.accounts import UNVERIFIED_TTL_S
from auth.billing import Billing, Payments
from auth.clients.keyvault_secretbox import KeyvaultSecretBox
from auth.config import Config, EmailConfig
from auth.core import Core, to_utc
from auth.hashing import PasswordHasher
from auth.mailer import Mailer, MailQueue, OutboxMailer, SendGridMailer
from auth.ratelimit import LoginLimiter
from auth.service import AuthServicer
from auth.store import Stores
from auth.store.accounts import BillingFields
from auth.store.stripe_events import StripeEvents
from auth.store.webhook_failures import WebhookFailureCounter
from auth.stripe_api import StripeApi
from auth.stripe_config import StripeConfig, WebhookLimits
from auth.webhook_guard import WebhookGuard
from auth.webhooks import Webhooks

log = logging.getLogger("auth.server")

SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
GATEWAY_METHODS = (
    "Signup",
    "VerifyEmail",
    "ResendVerification",
    "GetAccount",
    "UpdateAccount",
    "Login",
    "CompleteMfaLogin",
    "Refresh",
    "Logout",
    "LogoutAll",
    "CheckSession",
    "ListSessions",
    "EndSession",
    "EndOtherSessions",
    "ChangePassword",
    "RequestPasswordReset",
    "ConfirmPasswordReset",
    "SetupTotp",
    "ConfirmTotp",
    "DisableTotp",
    "RegenerateBackupCodes",
    "CreateCheckoutSession",
    "CreatePortalSession",
    "HandleStripeWebhook",
)


def allowlist() -> dict[str, tuple[str, ...]]:
    rules: dict[str, tuple[str, ...]] = {f"/{SERVICE}/{m}": ("gateway",) for m in GATEWAY_METHODS}
    rules[f"/{SERVICE}/GetServiceInfo"] = (ANY_SERVICE,)
    # Usage composes budget and anomaly alerts; auth sends them (it alone holds the mail provider's key).
    rules[f"/{SERVICE}/SendAlertEmail"] = ("usage",)
    # The services that gate their own actions ask auth (which owns plans and the verified state):
    # usage (history, CSV export, alerts), keyvault (key limit, verified), parser (AI parsing, verified).
    rules[f"/{SERVICE}/GetAccount"] = ("gateway", "usage", "keyvault", "parser")
    # usage's reconciler follows plan changes to pause and resume scheduled syncs.
    rules[f"/{SERVICE}/ListPlanChanges"] = ("usage",)
    return rules


def make_mailer(cfg: EmailConfig) -> Mailer:
    if cfg.sendgrid_api_key_file is not None:
        api_key = cfg.sendgrid_api_key_file.read_text().strip()
        return SendGridMailer(api_key, cfg.sender, host=cfg.sendgrid_api_base)
    log.info("email goes to the outbox folder", extra={"outbox": str(cfg.outbox_dir)})
    return OutboxMailer(cfg.outbox_dir, cfg.sender)


def build_core(cfg: Config, db: Database) -> Core:
    stores = Stores.of(db)
    stores.ensure_indexes()
    # Accounts from before unverified accounts expired get their week from now.
    expires = to_utc(time.time() + UNVERIFIED_TTL_S)
    if backfilled := stores.accounts.backfill_unverified_expiry(expires):
        log.info("unverified accounts given an expiry", extra={"count": backfilled})
    audit = open_audit_log(db, cfg.common)
    hasher = PasswordHasher(cfg.bcrypt_cost, slots=cfg.bcrypt_slots or None)
    hasher.warm_up()
    return Core(
        stores=stores,
        hasher=hasher,
        limiter=LoginLimiter(stores.throttles, cfg.limits),
        mail=MailQueue(make_mailer(cfg.email), max_pending=cfg.email.queue_max),
        box=KeyvaultSecretBox.connect(cfg.keyvault_addr, cfg.common.tls),
        audit=audit,
        signing_key=load_private_key(cfg.jwt_private_key_file.read_bytes()),
        access_ttl_s=cfg.access_token_ttl_s,
        session_ttl_s=cfg.session_ttl_s,
        base_url=cfg.email.public_base_url,
    )


def build_payments(core: Core, db: Database, cfg: StripeConfig | None) -> Payments:
    store, events = BillingFields(db), StripeEvents(db)
    store.ensure_indexes()
    events.ensure_indexes()
    failures = WebhookFailureCounter(db)
    failures.ensure_indexes()
    limits = cfg.webhook_limits if cfg is not None else WebhookLimits()
    guard = WebhookGuard(core, failures, limits.max_failures, limits.window_s)
    api = StripeApi(cfg) if cfg is not None else None
    return Payments(Billing(core, store, cfg, api), Webhooks(core, store, events, cfg, guard, api))


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    core = build_core(cfg, db)
    servicer = AuthServicer(cfg, core, build_payments(core, db, cfg.stripe))
    return [
        audit_binding(core.audit),
        ServiceBinding(
            full_name=SERVICE,
            register=lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server),
            allowlist=allowlist(),
        ),
    ]
