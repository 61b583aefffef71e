"""The auth service's configuration, parsed once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from svccommon.access_tokens import MAX_TTL, load_private_key
from svccommon.config import (
    CommonConfig,
    ConfigError,
    backend_address,
    env_file,
    env_int,
    env_str,
    load_common,
)

from auth.passwords import DEFAULT_COST, MAX_BCRYPT_COST, MIN_CONFIG_COST
from auth.stripe_config import StripeConfig, load_stripe


@dataclass(frozen=True)
class LimitConfig:
    """Throttles keyed by client network (ratelimit.py, networks.py). Sign-in: failures allowed per
    (email, network) and per network within a window before progressive delays start (base,
    doubling up to max). Signup and password-reset requests: at most N per network per window."""

    free_failures: int = 10
    window_s: int = 3600
    network_free_failures: int = 30
    network_window_s: int = 900
    base_delay_s: int = 2
    max_delay_s: int = 900
    signup_network_max: int = 20
    signup_window_s: int = 3600
    reset_network_max: int = 20
    reset_window_s: int = 3600


@dataclass(frozen=True)
class EmailConfig:
    outbox_dir: Path
    sendgrid_api_key_file: Path | None  # set → SendGrid; unset → .eml files in outbox_dir
    sender: str
    public_base_url: str  # where the links in emails point (the web app / gateway)
    sendgrid_api_base: str | None = None  # None: SendGrid's own host (tests point it at a fake)
    queue_max: int = 1000  # emails waiting to be sent, at most (mailer.MailQueue)


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    bcrypt_cost: int
    # bcrypt computations at once (0: one per core this process may use; auth.hashing says why).
    bcrypt_slots: int
    jwt_private_key_file: Path
    access_token_ttl_s: int
    session_ttl_s: int
    limits: LimitConfig
    email: EmailConfig
    keyvault_addr: str
    stripe: StripeConfig | None = None  # None: payments are not configured


def _base_url(env: Mapping[str, str]) -> str:
    url = env_str(env, "PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"PUBLIC_BASE_URL must start with http:// or https://, got {url!r}")
    return url


def _email(env: Mapping[str, str]) -> EmailConfig:
    key_file = (
        env_file(env, "SENDGRID_API_KEY_FILE") if env.get("SENDGRID_API_KEY_FILE", "").strip() else None
    )
    return EmailConfig(
        outbox_dir=Path(env_str(env, "EMAIL_OUTBOX_DIR", "var/outbox")),
        sendgrid_api_key_file=key_file,
        sender=env_str(env, "EMAIL_FROM", "AICosts <no-reply@aicosts.local>"),
        public_base_url=_base_url(env),
        sendgrid_api_base=env_str(env, "SENDGRID_API_BASE", "").rstrip("/") or None,
        queue_max=env_int(env, "AUTH_MAIL_QUEUE_MAX", 1000, minimum=1),
    )


def _limits(env: Mapping[str, str]) -> LimitConfig:
    max_delay = env_int(env, "AUTH_LOGIN_MAX_DELAY_SECONDS", 900, minimum=1, maximum=86400)
    return LimitConfig(
        # ASVS 2.2.1 allows at most 100 failures per hour per account (from one network here).
        free_failures=env_int(env, "AUTH_LOGIN_FREE_FAILURES", 10, minimum=2, maximum=100),
        window_s=env_int(env, "AUTH_LOGIN_WINDOW_SECONDS", 3600, minimum=60),
        network_free_failures=env_int(env, "AUTH_LOGIN_NETWORK_FREE_FAILURES", 30, minimum=2),
        network_window_s=env_int(env, "AUTH_LOGIN_NETWORK_WINDOW_SECONDS", 900, minimum=60),
        base_delay_s=env_int(env, "AUTH_LOGIN_DELAY_SECONDS", 2, minimum=1, maximum=max_delay),
        max_delay_s=max_delay,
        signup_network_max=env_int(env, "AUTH_SIGNUP_NETWORK_MAX", 20, minimum=1),
        signup_window_s=env_int(env, "AUTH_SIGNUP_NETWORK_WINDOW_SECONDS", 3600, minimum=60),
        reset_network_max=env_int(env, "AUTH_RESET_NETWORK_MAX", 20, minimum=1),
        reset_window_s=env_int(env, "AUTH_RESET_NETWORK_WINDOW_SECONDS", 3600, minimum=60),
    )


def load(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    key_file = env_file(env, "AUTH_JWT_PRIVATE_KEY_FILE")
    try:
        load_private_key(key_file.read_bytes())
    except (ValueError, TypeError):
        raise ConfigError("AUTH_JWT_PRIVATE_KEY_FILE must hold a PKCS#8 PEM Ed25519 private key") from None
    common = load_common("auth", env)
    return Config(
        common=common,
        # ASVS 2.4.4: never below 10, whatever the environment says.
        bcrypt_cost=env_int(
            env, "AUTH_BCRYPT_COST", DEFAULT_COST, minimum=MIN_CONFIG_COST, maximum=MAX_BCRYPT_COST
        ),
        bcrypt_slots=env_int(env, "AUTH_BCRYPT_SLOTS", 0, minimum=0, maximum=256),
        jwt_private_key_file=key_file,
        access_token_ttl_s=env_int(env, "AUTH_ACCESS_TOKEN_TTL_SECONDS", 600, minimum=60, maximum=MAX_TTL),
        session_ttl_s=env_int(env, "AUTH_SESSION_TTL_DAYS", 30, minimum=1, maximum=365) * 86400,
        limits=_limits(env),
        email=_email(env),
        keyvault_addr=backend_address(env, "keyvault"),
        stripe=load_stripe(env, _base_url(env), common.production),
    )
