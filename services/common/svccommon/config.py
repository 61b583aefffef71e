"""Configuration from environment variables only: parsed once, failing fast with the variable's name."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from svccommon.services import DEFAULT_PORTS

T = TypeVar("T")

ENVIRONMENTS = ("development", "production")


class ConfigError(Exception):
    """A configuration variable is missing or malformed; the message names it."""


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ConfigError(f"{name} is required but not set")
    return default


def env_int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env_str(env, name, default)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_file(env: Mapping[str, str], name: str, default: str | None = None) -> Path:
    """A path to an existing, readable file (secrets are mounted files, never inline values)."""
    path = Path(env_str(env, name, default))
    if not path.is_file():
        raise ConfigError(f"{name} points to {path}, which is not a readable file")
    return path


def secret_setting(env: Mapping[str, str], file_name: str, name: str) -> str:
    """A secret from the file `file_name` names (a mounted secret, which wins) or from the variable
    `name` (for local use); "" when neither is set. An empty file is a mistake, not "unset"."""
    if env.get(file_name, "").strip():
        value = env_file(env, file_name).read_text().strip()
        if not value:
            raise ConfigError(f"{file_name} points to an empty file")
        return value
    return env.get(name, "").strip()


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class CommonConfig:
    """Settings every gRPC service shares."""

    service: str
    environment: str
    region: str
    log_level: str
    port: int
    health_port: int
    bind_host: str
    trust_domain: str
    tls: TlsFiles
    mongodb_uri: str
    mongodb_database: str
    shutdown_delay_s: float
    shutdown_grace_s: float
    audit_retention_days: int = 365

    @property
    def production(self) -> bool:
        return self.environment == "production"


def load_tls(env: Mapping[str, str], identity: str) -> TlsFiles:
    """TLS_CA_FILE/TLS_CERT_FILE/TLS_KEY_FILE, or <TLS_DIR>/ca.crt, <identity>.crt, <identity>.key."""
    tls_dir = env.get("TLS_DIR", "").strip()
    defaults = {
        "TLS_CA_FILE": f"{tls_dir}/ca.crt" if tls_dir else None,
        "TLS_CERT_FILE": f"{tls_dir}/{identity}.crt" if tls_dir else None,
        "TLS_KEY_FILE": f"{tls_dir}/{identity}.key" if tls_dir else None,
    }
    files = {name: env_file(env, name, default) for name, default in defaults.items()}
    return TlsFiles(ca=files["TLS_CA_FILE"], cert=files["TLS_CERT_FILE"], key=files["TLS_KEY_FILE"])


def load_common(service: str, env: Mapping[str, str] | None = None) -> CommonConfig:
    env = os.environ if env is None else env
    prefix = service.upper()
    port = env_int(env, f"{prefix}_PORT", DEFAULT_PORTS[service], minimum=0, maximum=65535)
    return CommonConfig(
        service=service,
        environment=env_choice(env, "AICOSTS_ENV", ENVIRONMENTS, "development"),
        region=env_str(env, "REGION", "us-east-1"),
        log_level=env_choice(env, "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        port=port,
        health_port=env_int(env, "HEALTH_PORT", 0, minimum=0, maximum=65535),
        bind_host=env_str(env, "BIND_HOST", "127.0.0.1"),
        trust_domain=env_str(env, "TRUST_DOMAIN", "aicosts.local"),
        tls=load_tls(env, service),
        mongodb_uri=env_str(env, "MONGODB_URI", "mongodb://127.0.0.1:27117/"),
        mongodb_database=env_str(env, "MONGODB_DATABASE", f"aicosts_{service}"),
        shutdown_delay_s=env_float(env, "SHUTDOWN_DELAY_SECONDS", 1.0),
        shutdown_grace_s=env_float(env, "SHUTDOWN_GRACE_SECONDS", 10.0),
        # Audit events older than this are deleted by the database (a TTL index).
        audit_retention_days=env_int(env, "AUDIT_RETENTION_DAYS", 365, minimum=1, maximum=3650),
    )


def backend_address(env: Mapping[str, str], service: str) -> str:
    return env_str(env, f"{service.upper()}_ADDR", f"127.0.0.1:{DEFAULT_PORTS[service]}")


def load_or_exit(loader: Callable[[], T]) -> T:
    """Run a config loader; on a bad variable print one clear line and exit 2 (no traceback)."""
    try:
        return loader()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
