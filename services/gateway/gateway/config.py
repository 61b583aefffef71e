"""The gateway's configuration, parsed once from the environment."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from svccommon.config import (
    ENVIRONMENTS,
    TlsFiles,
    backend_address,
    env_choice,
    env_file,
    env_int,
    env_str,
    load_tls,
)
from svccommon.services import DEFAULT_PORTS, GRPC_SERVICES


@dataclass(frozen=True)
class GatewayConfig:
    environment: str
    region: str
    log_level: str
    host: str
    port: int
    public_domain: str
    max_body_bytes: int
    max_json_bytes: int
    trusted_proxies: int
    jwt_public_key_file: Path
    backends: Mapping[str, str]
    backend_timeout_s: float
    tls: TlsFiles

    @property
    def production(self) -> bool:
        return self.environment == "production"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load(env: Mapping[str, str] | None = None) -> GatewayConfig:
    env = os.environ if env is None else env
    return GatewayConfig(
        environment=env_choice(env, "AICOSTS_ENV", ENVIRONMENTS, "development"),
        region=env_str(env, "REGION", "us-east-1"),
        log_level=env_choice(env, "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        host=env_str(env, "GATEWAY_HOST", "127.0.0.1"),
        port=env_int(env, "GATEWAY_PORT", DEFAULT_PORTS["gateway"], minimum=1, maximum=65535),
        public_domain=env_str(env, "PUBLIC_DOMAIN", "localhost"),
        max_body_bytes=env_int(env, "GATEWAY_MAX_BODY_BYTES", 25 * 1024 * 1024, minimum=1024),
        max_json_bytes=env_int(env, "GATEWAY_MAX_JSON_BYTES", 64 * 1024, minimum=1024),
        trusted_proxies=env_int(env, "GATEWAY_TRUSTED_PROXIES", 0, minimum=0, maximum=5),
        jwt_public_key_file=env_file(env, "GATEWAY_JWT_PUBLIC_KEY_FILE"),
        backends={name: backend_address(env, name) for name in GRPC_SERVICES},
        backend_timeout_s=env_int(env, "GATEWAY_BACKEND_TIMEOUT_MS", 5000, minimum=100) / 1000,
        tls=load_tls(env, "gateway"),
    )
