"""The auth service's configuration: safe defaults, and refusal of unsafe values by name."""

from __future__ import annotations

import pytest
from auth.config import load
from devstack import secrets
from svccommon.config import ConfigError


@pytest.fixture()
def env(tmp_path) -> dict[str, str]:
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    return {"TLS_DIR": str(paths["tls_dir"]), "AUTH_JWT_PRIVATE_KEY_FILE": str(paths["jwt_private"])}


def test_defaults(env) -> None:
    cfg = load(env)
    assert cfg.bcrypt_cost == 12  # checklist 1: the default cost
    assert cfg.access_token_ttl_s == 600
    assert cfg.session_ttl_s == 30 * 86400
    limits = cfg.limits
    assert (limits.free_failures, limits.window_s) == (10, 3600)
    assert (limits.network_free_failures, limits.network_window_s) == (30, 900)
    assert (limits.base_delay_s, limits.max_delay_s) == (2, 900)
    assert (limits.signup_network_max, limits.signup_window_s) == (20, 3600)
    assert (limits.reset_network_max, limits.reset_window_s) == (20, 3600)
    assert cfg.email.queue_max == 1000 and cfg.email.sendgrid_api_base is None
    assert cfg.email.sendgrid_api_key_file is None
    assert str(cfg.email.outbox_dir) == "var/outbox"
    assert cfg.email.public_base_url == "http://127.0.0.1:8080"
    assert cfg.keyvault_addr == "127.0.0.1:50052"


@pytest.mark.parametrize("cost", ["4", "9"])
def test_bcrypt_cost_below_the_asvs_floor_is_refused(env, cost: str) -> None:
    with pytest.raises(ConfigError, match="AUTH_BCRYPT_COST must be at least 10"):
        load({**env, "AUTH_BCRYPT_COST": cost})


def test_bcrypt_cost_can_be_raised(env) -> None:
    assert load({**env, "AUTH_BCRYPT_COST": "13"}).bcrypt_cost == 13


def test_signing_key_is_required_and_must_be_ed25519(env, tmp_path) -> None:
    with pytest.raises(ConfigError, match="AUTH_JWT_PRIVATE_KEY_FILE"):
        load({k: v for k, v in env.items() if k != "AUTH_JWT_PRIVATE_KEY_FILE"})
    public = tmp_path / "secrets" / "gateway" / "jwt_public_key.pem"
    with pytest.raises(ConfigError, match="Ed25519 private key"):
        load({**env, "AUTH_JWT_PRIVATE_KEY_FILE": str(public)})


def test_access_tokens_cannot_outlive_15_minutes(env) -> None:
    with pytest.raises(ConfigError, match="AUTH_ACCESS_TOKEN_TTL_SECONDS must be at most 900"):
        load({**env, "AUTH_ACCESS_TOKEN_TTL_SECONDS": "3600"})


def test_sendgrid_key_file_and_sender(env, tmp_path) -> None:
    key = tmp_path / "sendgrid.key"
    key.write_text("SG.x\n")
    cfg = load({**env, "SENDGRID_API_KEY_FILE": str(key), "EMAIL_FROM": "Costs <costs@example.com>"})
    assert cfg.email.sendgrid_api_key_file == key and cfg.email.sender == "Costs <costs@example.com>"
    with pytest.raises(ConfigError, match="SENDGRID_API_KEY_FILE"):
        load({**env, "SENDGRID_API_KEY_FILE": str(tmp_path / "missing")})


def test_public_base_url_must_be_http(env) -> None:
    assert load({**env, "PUBLIC_BASE_URL": "https://costs.example.com/"}).email.public_base_url == (
        "https://costs.example.com"
    )
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load({**env, "PUBLIC_BASE_URL": "javascript:alert(1)"})


def test_login_delays_must_fit_in_their_bounds(env) -> None:
    with pytest.raises(ConfigError, match="AUTH_LOGIN_FREE_FAILURES must be at most 100"):
        load({**env, "AUTH_LOGIN_FREE_FAILURES": "101"})  # ASVS 2.2.1: 100 an hour at most
    with pytest.raises(ConfigError, match="AUTH_LOGIN_DELAY_SECONDS must be at most 60"):
        load({**env, "AUTH_LOGIN_MAX_DELAY_SECONDS": "60", "AUTH_LOGIN_DELAY_SECONDS": "120"})
    with pytest.raises(ConfigError, match="AUTH_MAIL_QUEUE_MAX must be at least 1"):
        load({**env, "AUTH_MAIL_QUEUE_MAX": "0"})
