"""Stripe settings of the auth service (the one service that talks to Stripe).

All or nothing: with none of STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and STRIPE_PRICE_PROFESSIONAL
set, payments are off (self-hosted installations may run without Stripe); with some but not all,
startup fails naming the missing one. Secrets come from a mounted file (<NAME>_FILE, which wins)
or, for local runs and tests, the variable itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from svccommon.config import ConfigError, env_int, env_str, secret_setting

DEFAULT_API_BASE = "https://api.stripe.com"
SECRETS = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
PRICE_VARS = {"professional": "STRIPE_PRICE_PROFESSIONAL"}  # paid plan id -> its price variable


@dataclass(frozen=True)
class WebhookLimits:
    """Failed webhook deliveries allowed per client network and window before it gets 429; the
    window is also the one over which repeated failures share one audit event."""

    max_failures: int = 30
    window_s: int = 60


@dataclass(frozen=True)
class StripeConfig:
    secret_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    api_base: str
    prices: Mapping[str, str]  # plan id -> Stripe price id
    success_url: str
    cancel_url: str
    portal_return_url: str
    webhook_limits: WebhookLimits = field(default_factory=WebhookLimits)

    def plan_of_price(self, price_id: str) -> str | None:
        return next((plan for plan, price in self.prices.items() if price == price_id), None)


def _secret(env: Mapping[str, str], name: str) -> str:
    """<NAME>_FILE (a mounted secret) wins over <NAME>; "" when neither is set."""
    return secret_setting(env, f"{name}_FILE", name)


def _url(env: Mapping[str, str], name: str, default: str, production: bool) -> str:
    url = env_str(env, name, default)
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {url[:60]!r}")
    if production and not url.startswith("https://"):
        raise ConfigError(f"{name} must use https:// in production")
    return url


def load_stripe(env: Mapping[str, str], public_base_url: str, production: bool) -> StripeConfig | None:
    values = {name: _secret(env, name) for name in SECRETS}
    values.update({var: env.get(var, "").strip() for var in PRICE_VARS.values()})
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(
            f"{missing[0]} is required when Stripe payments are configured "
            f"(set all of {', '.join(values)} or none)"
        )
    if not values["STRIPE_SECRET_KEY"].startswith(("sk_", "rk_")):
        raise ConfigError("STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_... or rk_...)")
    if not values["STRIPE_WEBHOOK_SECRET"].startswith("whsec_"):
        raise ConfigError("STRIPE_WEBHOOK_SECRET must be a webhook signing secret (whsec_...)")
    for var in PRICE_VARS.values():
        if not values[var].startswith("price_"):
            raise ConfigError(f"{var} must be a Stripe price id (price_...)")
    return StripeConfig(
        secret_key=values["STRIPE_SECRET_KEY"],
        webhook_secret=values["STRIPE_WEBHOOK_SECRET"],
        api_base=_url(env, "STRIPE_API_BASE", DEFAULT_API_BASE, production).rstrip("/"),
        prices={plan: values[var] for plan, var in PRICE_VARS.items()},
        # Stripe fills in {CHECKOUT_SESSION_ID} when it redirects the customer back.
        success_url=_url(
            env,
            "BILLING_SUCCESS_URL",
            f"{public_base_url}/settings?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
            production,
        ),
        cancel_url=_url(
            env, "BILLING_CANCEL_URL", f"{public_base_url}/settings?checkout=cancelled", production
        ),
        portal_return_url=_url(
            env, "BILLING_PORTAL_RETURN_URL", f"{public_base_url}/settings?billing=portal", production
        ),
        webhook_limits=load_webhook_limits(env),
    )


def load_webhook_limits(env: Mapping[str, str]) -> WebhookLimits:
    defaults = WebhookLimits()
    return WebhookLimits(
        max_failures=env_int(env, "AUTH_WEBHOOK_MAX_FAILURES", defaults.max_failures, minimum=1),
        window_s=env_int(
            env, "AUTH_WEBHOOK_FAILURE_WINDOW_SECONDS", defaults.window_s, minimum=10, maximum=3600
        ),
    )
