"""The usage service's configuration, parsed once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from svccommon.config import CommonConfig, load_common


@dataclass(frozen=True)
class Config:
    common: CommonConfig


def load(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    return Config(common=load_common("usage", env))
