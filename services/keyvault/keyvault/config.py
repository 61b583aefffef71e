"""The keyvault service's configuration, parsed once from the environment.

KEYVAULT_KEYRING_FILE is read by this service alone: no other service's configuration names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from svccommon.config import CommonConfig, ConfigError, backend_address, env_int, env_str, load_common

KEYRING_ENV = "KEYVAULT_KEYRING_FILE"


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    keyring_file: Path
    # Only outside production may keyvault create a missing keyring (first local start).
    create_keyring: bool
    max_credentials_per_account: int
    auth_addr: str  # the account's plan and verified state decide whether a key may be stored


def keyring_path(env: Mapping[str, str], production: bool) -> Path:
    path = Path(env_str(env, KEYRING_ENV))
    if production and not path.is_file():
        raise ConfigError(f"{KEYRING_ENV} points to {path}, which is not a readable file")
    if not production and not path.is_file() and not path.parent.is_dir():
        raise ConfigError(f"{KEYRING_ENV} points to {path}, whose folder does not exist")
    return path


def load(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    common = load_common("keyvault", env)
    return Config(
        common=common,
        keyring_file=keyring_path(env, common.production),
        create_keyring=not common.production,
        max_credentials_per_account=env_int(
            env, "KEYVAULT_MAX_CREDENTIALS_PER_ACCOUNT", 50, minimum=1, maximum=10_000
        ),
        auth_addr=backend_address(env, "auth"),
    )
