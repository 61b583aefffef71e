"""The usage service's configuration, parsed once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from svccommon.config import (
    CommonConfig,
    ConfigError,
    backend_address,
    env_choice,
    env_float,
    env_int,
    load_common,
)

from usage.connectors import CONNECTORS
from usage.connectors.azure_openai import AUTH_URL_ENV as AZURE_AUTH_URL_ENV
from usage.connectors.base import BASE_URL_ENV_PREFIX, base_url_for
from usage.summarycache import DEFAULT_MAX_ENTRIES

DEFAULT_SYNC_INTERVAL_S = 6 * 3600
DEFAULT_SYNC_RETRY_S = 15 * 60  # the first early retry after a failed sync (usage.scheduling)
TOKEN_URI_ENV_PREFIX = "PROVIDER_TOKEN_URI_"  # noqa: S105 - a variable name


@dataclass(frozen=True)
class ProviderHttp:
    """How connectors call providers (bounded retries so a sync can never hang)."""

    max_attempts: int = 5
    backoff_s: float = 1.0
    retry_after_max_s: float = 60.0
    timeout_s: float = 30.0


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    keyvault_addr: str
    auth_addr: str  # alert emails are sent by auth (usage/clients/auth_mail.py)
    sync_interval_s: int  # 0: no scheduled syncs
    sync_retry_s: int  # after a sync with failed days, the next one this soon, doubling; 0: off
    sync_workers: int
    sync_stale_s: int
    provider_http: ProviderHttp
    summary_cache_entries: int  # day-rollup entries kept in memory across accounts (LRU)
    # usage's reconciler (usage/reconciler.py): how often it follows keyvault's and auth's change
    # feeds (0: never), and how far before its cursor it re-reads (the owners' clock skew).
    reconcile_interval_s: float = 30.0
    reconcile_overlap_s: float = 300.0
    # Development and tests only: alert webhooks may go to http://127.0.0.1 (never in production).
    alerts_allow_local_http: bool = False
    # PROVIDER_BASE_URL_<PLATFORM> values that were set (connectors default to the real APIs), and
    # PROVIDER_TOKEN_URI_<PLATFORM> (Google: a token endpoint accepted besides Google's own).
    provider_base_urls: Mapping[str, str] = field(default_factory=dict)


def _provider_base_urls(env: Mapping[str, str]) -> dict[str, str]:
    urls = {}
    for platform, cls in CONNECTORS.items():
        name = BASE_URL_ENV_PREFIX + platform.upper()
        if env.get(name, "").strip():
            try:
                urls[name] = base_url_for(platform, cls.default_base_url, env)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        token_name = TOKEN_URI_ENV_PREFIX + platform.upper()
        token_uri = env.get(token_name, "").strip()
        if token_uri:
            if not token_uri.startswith(("https://", "http://")):
                raise ConfigError(f"{token_name} must be an http(s) URL")
            urls[token_name] = token_uri
    # Azure's token endpoint (the Microsoft identity platform) is a second root of that connector.
    auth = env.get(AZURE_AUTH_URL_ENV, "").strip()
    if auth:
        if not auth.startswith(("https://", "http://")):
            raise ConfigError(f"{AZURE_AUTH_URL_ENV} must be an http(s) URL")
        urls[AZURE_AUTH_URL_ENV] = auth.rstrip("/")
    return urls


def load(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    return Config(
        common=load_common("usage", env),
        keyvault_addr=backend_address(env, "keyvault"),
        auth_addr=backend_address(env, "auth"),
        sync_interval_s=env_int(env, "USAGE_SYNC_INTERVAL_SECONDS", DEFAULT_SYNC_INTERVAL_S, minimum=0),
        sync_retry_s=env_int(env, "USAGE_SYNC_RETRY_SECONDS", DEFAULT_SYNC_RETRY_S, minimum=0),
        sync_workers=env_int(env, "USAGE_SYNC_WORKERS", 4, minimum=1, maximum=32),
        sync_stale_s=env_int(env, "USAGE_SYNC_STALE_SECONDS", 300, minimum=10),
        provider_http=ProviderHttp(
            max_attempts=env_int(env, "USAGE_PROVIDER_MAX_ATTEMPTS", 5, minimum=1, maximum=10),
            backoff_s=env_float(env, "USAGE_PROVIDER_BACKOFF_SECONDS", 1.0),
            retry_after_max_s=env_float(env, "USAGE_PROVIDER_RETRY_AFTER_MAX_SECONDS", 60.0),
            timeout_s=env_float(env, "USAGE_PROVIDER_TIMEOUT_SECONDS", 30.0, minimum=1.0),
        ),
        summary_cache_entries=env_int(
            env, "USAGE_SUMMARY_CACHE_ENTRIES", DEFAULT_MAX_ENTRIES, minimum=10_000
        ),
        reconcile_interval_s=env_float(env, "USAGE_RECONCILE_INTERVAL_SECONDS", 30.0),
        reconcile_overlap_s=env_float(env, "USAGE_RECONCILE_OVERLAP_SECONDS", 300.0),
        provider_base_urls=_provider_base_urls(env),
        alerts_allow_local_http=_allow_local_http(env),
    )


def _allow_local_http(env: Mapping[str, str]) -> bool:
    allowed = env_choice(env, "USAGE_ALERTS_ALLOW_LOCAL_HTTP", ("0", "1"), "0") == "1"
    if (
        allowed
        and env_choice(env, "AICOSTS_ENV", ("development", "production"), "development") == "production"
    ):
        raise ConfigError(
            "USAGE_ALERTS_ALLOW_LOCAL_HTTP=1 is for development and tests; it is refused in production"
        )
    return allowed
