"""The usage service's environment: sync schedule, workers, provider HTTP and base URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from svccommon.config import ConfigError
from usage.config import load


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    for name in ("ca.crt", "usage.crt", "usage.key"):
        (tmp_path / name).write_text("x")
    return {"TLS_DIR": str(tmp_path)}


def test_defaults(env: dict[str, str]) -> None:
    cfg = load(env)
    assert cfg.sync_interval_s == 21600 and cfg.sync_workers == 4 and cfg.sync_stale_s == 300
    assert cfg.sync_retry_s == 900
    assert cfg.provider_http.max_attempts == 5 and cfg.provider_http.backoff_s == 1.0
    assert cfg.provider_base_urls == {} and cfg.keyvault_addr == "127.0.0.1:50052"
    assert cfg.auth_addr == "127.0.0.1:50051"


def test_auth_address_for_alert_emails(env: dict[str, str]) -> None:
    assert load({**env, "AUTH_ADDR": "auth:50051"}).auth_addr == "auth:50051"


def test_overrides_and_fake_provider_urls(env: dict[str, str]) -> None:
    env.update(
        USAGE_SYNC_INTERVAL_SECONDS="0",
        USAGE_SYNC_RETRY_SECONDS="0",
        USAGE_PROVIDER_MAX_ATTEMPTS="2",
        PROVIDER_BASE_URL_OPENAI="http://127.0.0.1:9/v1/",
    )
    cfg = load(env)
    assert cfg.sync_interval_s == 0 and cfg.provider_http.max_attempts == 2 and cfg.sync_retry_s == 0
    assert cfg.provider_base_urls == {"PROVIDER_BASE_URL_OPENAI": "http://127.0.0.1:9/v1"}


def test_a_google_token_endpoint_reaches_the_connectors(env: dict[str, str]) -> None:
    cfg = load({**env, "PROVIDER_TOKEN_URI_GOOGLE": "http://127.0.0.1:9/token"})
    assert cfg.provider_base_urls == {"PROVIDER_TOKEN_URI_GOOGLE": "http://127.0.0.1:9/token"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PROVIDER_BASE_URL_ANTHROPIC", "ftp://example.com"),
        ("PROVIDER_TOKEN_URI_GOOGLE", "file:///etc/passwd"),
        ("USAGE_SYNC_WORKERS", "0"),
        ("USAGE_SYNC_INTERVAL_SECONDS", "soon"),
        ("USAGE_SYNC_RETRY_SECONDS", "-1"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load({**env, name: value})
