"""The parser service's configuration, parsed once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from svccommon.config import (
    CommonConfig,
    ConfigError,
    backend_address,
    env_float,
    env_int,
    env_str,
    load_common,
    secret_setting,
)

MIB = 1024 * 1024
# The gRPC message limit both sides of the gateway→parser channel use (uploads are ≤ 20 MiB).
MAX_MESSAGE_BYTES = 25 * MIB
# Memory arithmetic of a parser pod (limit 1 GiB in k8s/base/parser/deployment.yaml): the
# service process keeps SERVICE_MEMORY_BYTES (about 100 MiB at rest, plus the uploads in flight,
# each held a few times over while it is parsed), and each of the PARSER_PDF_MAX_WORKERS PDF
# readers may reach PARSER_PDF_MEMORY_BYTES: 384 MiB + 2 x 320 MiB = 1 GiB. Raising either
# setting means raising the pod's limit (tests/k8s checks that they fit).
SERVICE_MEMORY_BYTES = 384 * MIB
DEFAULT_PDF_MAX_WORKERS = 2
DEFAULT_PDF_MEMORY_BYTES = 320 * MIB


@dataclass(frozen=True)
class Limits:
    """Bounds on what one file may cost us to read (ASVS 5.2.1, 5.2.3; OWASP LLM10)."""

    max_upload_bytes: int
    max_rows: int
    max_columns: int
    max_records: int
    xlsx_max_uncompressed_bytes: int
    xlsx_max_ratio: int
    xlsx_max_entries: int
    pdf_max_pages: int
    pdf_timeout_s: float
    pdf_memory_bytes: int
    pdf_max_workers: int  # PDF readers running at once per process; more uploads get 503
    max_uploads_per_account: int
    preview_records: int


@dataclass(frozen=True)
class OpenAIConfig:
    """OpenAI structured extraction (Professional plan). api_key empty = not configured."""

    api_key: str = field(repr=False)
    base_url: str | None
    model: str
    timeout_s: float
    max_output_tokens: int
    max_input_chars: int
    daily_limit_per_account: int

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    upload_dir: Path
    usage_addr: str
    usage_timeout_s: float
    auth_addr: str  # the account's plan (AI parsing) and verified state, asked per upload
    limits: Limits
    openai: OpenAIConfig


def _openai_key(env: Mapping[str, str]) -> str:
    # A mounted secret file wins; the SDK's standard OPENAI_API_KEY is accepted for local use.
    return secret_setting(env, "PARSER_OPENAI_API_KEY_FILE", "OPENAI_API_KEY")


def load_openai(env: Mapping[str, str], production: bool) -> OpenAIConfig:
    base_url = env.get("OPENAI_BASE_URL", "").strip() or None
    if base_url is not None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"OPENAI_BASE_URL must start with https:// (or http:// locally), got {base_url!r}"
            )
        if production and not base_url.startswith("https://"):
            raise ConfigError("OPENAI_BASE_URL must use https:// in production")
    return OpenAIConfig(
        api_key=_openai_key(env),
        base_url=base_url,
        model=env_str(env, "PARSER_OPENAI_MODEL", "gpt-4o-mini"),
        timeout_s=env_float(env, "PARSER_OPENAI_TIMEOUT_SECONDS", 45.0, minimum=1.0),
        max_output_tokens=env_int(env, "PARSER_OPENAI_MAX_OUTPUT_TOKENS", 16000, minimum=256),
        max_input_chars=env_int(env, "PARSER_OPENAI_MAX_INPUT_CHARS", 120_000, minimum=1000),
        daily_limit_per_account=env_int(env, "PARSER_OPENAI_DAILY_LIMIT", 50, minimum=0),
    )


def load_limits(env: Mapping[str, str]) -> Limits:
    return Limits(
        max_upload_bytes=env_int(env, "PARSER_MAX_UPLOAD_BYTES", 20 * MIB, minimum=1024, maximum=20 * MIB),
        max_rows=env_int(env, "PARSER_MAX_ROWS", 100_000, minimum=10),
        max_columns=env_int(env, "PARSER_MAX_COLUMNS", 200, minimum=5),
        max_records=env_int(env, "PARSER_MAX_RECORDS", 10_000, minimum=10),
        xlsx_max_uncompressed_bytes=env_int(
            env, "PARSER_XLSX_MAX_UNCOMPRESSED_BYTES", 100 * MIB, minimum=MIB
        ),
        xlsx_max_ratio=env_int(env, "PARSER_XLSX_MAX_RATIO", 100, minimum=2),
        xlsx_max_entries=env_int(env, "PARSER_XLSX_MAX_ENTRIES", 1000, minimum=10),
        pdf_max_pages=env_int(env, "PARSER_PDF_MAX_PAGES", 50, minimum=1),
        pdf_timeout_s=env_float(env, "PARSER_PDF_TIMEOUT_SECONDS", 15.0, minimum=1.0),
        pdf_memory_bytes=env_int(env, "PARSER_PDF_MEMORY_BYTES", DEFAULT_PDF_MEMORY_BYTES, minimum=128 * MIB),
        pdf_max_workers=env_int(
            env, "PARSER_PDF_MAX_WORKERS", DEFAULT_PDF_MAX_WORKERS, minimum=1, maximum=64
        ),
        max_uploads_per_account=env_int(env, "PARSER_MAX_UPLOADS_PER_ACCOUNT", 1000, minimum=1),
        preview_records=env_int(env, "PARSER_PREVIEW_RECORDS", 100, minimum=1, maximum=1000),
    )


def load(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    common = load_common("parser", env)
    return Config(
        common=common,
        upload_dir=Path(env_str(env, "UPLOAD_DIR")),
        usage_addr=backend_address(env, "usage"),
        usage_timeout_s=env_float(env, "PARSER_USAGE_TIMEOUT_SECONDS", 30.0, minimum=1.0),
        auth_addr=backend_address(env, "auth"),
        limits=load_limits(env),
        openai=load_openai(env, common.production),
    )
