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
    """Failed sign-in limits (ASVS 2.2.1): per account (email) and per client IP, sliding windows."""

    account_max_failures: int
    account_window_s: int
    ip_max_failures: int
    ip_window_s: int


@dataclass(frozen=True)
class EmailConfig:
    outbox_dir: Path
    sendgrid_api_key_file: Path | None  # set → SendGrid; unset → .eml files in outbox_dir
    sender: str
    public_base_url: str  # where the links in emails point (the web app / gateway)


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    bcrypt_cost: int
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
        jwt_private_key_file=key_file,
        access_token_ttl_s=env_int(env, "AUTH_ACCESS_TOKEN_TTL_SECONDS", 600, minimum=60, maximum=MAX_TTL),
        session_ttl_s=env_int(env, "AUTH_SESSION_TTL_DAYS", 30, minimum=1, maximum=365) * 86400,
        limits=LimitConfig(
            account_max_failures=env_int(env, "AUTH_LOGIN_MAX_FAILURES", 10, minimum=1, maximum=100),
            account_window_s=env_int(env, "AUTH_LOGIN_FAILURE_WINDOW_SECONDS", 3600, minimum=60),
            ip_max_failures=env_int(env, "AUTH_LOGIN_IP_MAX_FAILURES", 30, minimum=1),
            ip_window_s=env_int(env, "AUTH_LOGIN_IP_WINDOW_SECONDS", 900, minimum=60),
        ),
        email=_email(env),
        keyvault_addr=backend_address(env, "keyvault"),
        stripe=load_stripe(env, _base_url(env), common.production),
    )
