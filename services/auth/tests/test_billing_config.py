"""Stripe settings of the auth service: off when unset, all-or-nothing when set, secrets from
mounted files first, URLs from PUBLIC_BASE_URL, never a secret in a repr."""

from __future__ import annotations

import pytest
from auth.billing import Billing
from auth.config import load
from auth.webhooks import Webhooks
from devstack import secrets
from svccommon.config import ConfigError
from svccommon.errors import FailedPrecondition, InvalidArgument
from testkit.fakes.stripe_api import PRICE_PROFESSIONAL, SECRET_KEY, WEBHOOK_SECRET

STRIPE = {
    "STRIPE_SECRET_KEY": SECRET_KEY,
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "STRIPE_PRICE_PROFESSIONAL": PRICE_PROFESSIONAL,
}


@pytest.fixture()
def env(tmp_path) -> dict[str, str]:
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    return {"TLS_DIR": str(paths["tls_dir"]), "AUTH_JWT_PRIVATE_KEY_FILE": str(paths["jwt_private"])}


def test_payments_are_off_without_stripe_settings(env) -> None:
    assert load(env).stripe is None


def test_settings_from_the_environment_with_url_defaults(env) -> None:
    cfg = load({**env, **STRIPE, "PUBLIC_BASE_URL": "https://costs.example.com/"}).stripe
    assert cfg is not None
    assert (cfg.secret_key, cfg.webhook_secret) == (SECRET_KEY, WEBHOOK_SECRET)
    assert cfg.api_base == "https://api.stripe.com"
    assert cfg.prices == {"professional": PRICE_PROFESSIONAL}
    assert cfg.plan_of_price(PRICE_PROFESSIONAL) == "professional" and cfg.plan_of_price("price_x") is None
    assert (
        cfg.success_url
        == "https://costs.example.com/settings?checkout=success&session_id={CHECKOUT_SESSION_ID}"
    )
    assert cfg.cancel_url == "https://costs.example.com/settings?checkout=cancelled"
    assert cfg.portal_return_url == "https://costs.example.com/settings?billing=portal"
    assert SECRET_KEY not in repr(cfg) and WEBHOOK_SECRET not in repr(cfg)


def test_mounted_secret_files_win_and_urls_can_be_set(env, tmp_path) -> None:
    (tmp_path / "sk").write_text("sk_live_from_file_0123456789\n")
    (tmp_path / "wh").write_text("whsec_from_file_0123456789")
    cfg = load(
        {
            **env,
            **STRIPE,
            "STRIPE_SECRET_KEY_FILE": str(tmp_path / "sk"),
            "STRIPE_WEBHOOK_SECRET_FILE": str(tmp_path / "wh"),
            "STRIPE_API_BASE": "http://127.0.0.1:9/",
            "BILLING_SUCCESS_URL": "https://app.example.com/thanks",
            "BILLING_CANCEL_URL": "https://app.example.com/pricing",
            "BILLING_PORTAL_RETURN_URL": "https://app.example.com/settings",
        }
    ).stripe
    assert cfg is not None
    assert (cfg.secret_key, cfg.webhook_secret) == (
        "sk_live_from_file_0123456789",
        "whsec_from_file_0123456789",
    )
    assert cfg.api_base == "http://127.0.0.1:9"
    assert (cfg.success_url, cfg.cancel_url, cfg.portal_return_url) == (
        "https://app.example.com/thanks",
        "https://app.example.com/pricing",
        "https://app.example.com/settings",
    )


@pytest.mark.parametrize("missing", sorted(STRIPE))
def test_some_but_not_all_settings_name_the_missing_one(env, missing: str) -> None:
    partial = {k: v for k, v in STRIPE.items() if k != missing}
    with pytest.raises(ConfigError, match=f"{missing} is required when Stripe payments are configured"):
        load({**env, **partial})


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("STRIPE_SECRET_KEY", "pk_test_publishable", "sk_... or rk_"),
        ("STRIPE_WEBHOOK_SECRET", "not-a-secret", "whsec_"),
        ("STRIPE_PRICE_PROFESSIONAL", "prod_123", "price_"),
        ("STRIPE_API_BASE", "ftp://stripe", "http"),
        ("BILLING_SUCCESS_URL", "/relative", "http"),
    ],
)
def test_malformed_values_are_refused_by_name(env, name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=name) as caught:
        load({**env, **STRIPE, name: value})
    assert says in str(caught.value)


def test_an_empty_or_missing_secret_file_is_refused(env, tmp_path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="STRIPE_SECRET_KEY_FILE points to an empty file"):
        load({**env, **STRIPE, "STRIPE_SECRET_KEY_FILE": str(tmp_path / "empty")})
    with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_SECRET_FILE"):
        load({**env, **STRIPE, "STRIPE_WEBHOOK_SECRET_FILE": str(tmp_path / "nope")})


def test_production_needs_https(env) -> None:
    prod = {**env, **STRIPE, "AICOSTS_ENV": "production", "PUBLIC_BASE_URL": "https://costs.example.com"}
    assert load(prod).stripe is not None
    with pytest.raises(ConfigError, match="STRIPE_API_BASE must use https:// in production"):
        load({**prod, "STRIPE_API_BASE": "http://stripe.internal"})


def test_without_stripe_settings_payments_say_so() -> None:
    # Nothing else is touched before the check, so no database or core is needed here.
    billing, webhooks = Billing(None, None, None), Webhooks(None, None, None, None, None)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition, match="payments are not configured on this installation"):
        billing.checkout("a" * 32, "professional")
    with pytest.raises(FailedPrecondition, match="payments are not configured on this installation"):
        billing.portal("a" * 32)
    with pytest.raises(InvalidArgument, match="payments are not configured on this installation"):
        webhooks.handle(b"{}", "t=1,v1=00")


def test_webhook_failure_limits(env) -> None:
    cfg = load({**env, **STRIPE}).stripe
    assert cfg is not None and (cfg.webhook_limits.max_failures, cfg.webhook_limits.window_s) == (30, 60)
    tuned = {**env, **STRIPE, "AUTH_WEBHOOK_MAX_FAILURES": "5", "AUTH_WEBHOOK_FAILURE_WINDOW_SECONDS": "300"}
    limits = load(tuned).stripe.webhook_limits  # type: ignore[union-attr]
    assert (limits.max_failures, limits.window_s) == (5, 300)
    with pytest.raises(ConfigError, match="AUTH_WEBHOOK_FAILURE_WINDOW_SECONDS must be at most 3600"):
        load({**env, **STRIPE, "AUTH_WEBHOOK_FAILURE_WINDOW_SECONDS": "86400"})
