"""Parser configuration: OpenAI settings from the SDK's standard variables (or a mounted key
file), limits with their bounds, and the key never shown by repr()."""

from __future__ import annotations

import pytest
from parser.config import SERVICE_MEMORY_BYTES, load_limits, load_openai
from svccommon.config import ConfigError


def test_openai_not_configured_without_a_key():
    cfg = load_openai({}, production=False)
    assert not cfg.configured and cfg.base_url is None and cfg.model == "gpt-4o-mini"


def test_openai_from_the_sdk_variables():
    env = {
        "OPENAI_API_KEY": "sk-test-123",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "PARSER_OPENAI_MODEL": "m",
    }
    cfg = load_openai(env, production=False)
    assert cfg.configured and cfg.api_key == "sk-test-123"
    assert cfg.base_url == "http://127.0.0.1:9/v1" and cfg.model == "m"
    assert "sk-test-123" not in repr(cfg)


def test_openai_key_file_wins(tmp_path):
    key_file = tmp_path / "openai-key"
    key_file.write_text("sk-from-file\n")
    env = {"OPENAI_API_KEY": "sk-env", "PARSER_OPENAI_API_KEY_FILE": str(key_file)}
    assert load_openai(env, production=False).api_key == "sk-from-file"
    key_file.write_text("")
    with pytest.raises(ConfigError, match="PARSER_OPENAI_API_KEY_FILE points to an empty file"):
        load_openai(env, production=False)


def test_production_needs_https_for_openai():
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL must use https:// in production"):
        load_openai({"OPENAI_BASE_URL": "http://proxy.internal/v1"}, production=True)
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL must start with"):
        load_openai({"OPENAI_BASE_URL": "ftp://x"}, production=False)


def test_upload_limit_cannot_exceed_the_gateway_limit():
    assert load_limits({}).max_upload_bytes == 20 * 1024 * 1024
    assert load_limits({"PARSER_MAX_UPLOAD_BYTES": "1048576"}).max_upload_bytes == 1048576
    with pytest.raises(ConfigError, match="PARSER_MAX_UPLOAD_BYTES must be at most 20971520"):
        load_limits({"PARSER_MAX_UPLOAD_BYTES": str(21 * 1024 * 1024)})


def test_pdf_readers_at_their_caps_fit_a_1_gib_pod_by_default():
    limits = load_limits({})
    assert limits.pdf_max_workers == 2 and limits.pdf_memory_bytes == 320 * 1024 * 1024
    assert limits.pdf_max_workers * limits.pdf_memory_bytes + SERVICE_MEMORY_BYTES <= 1024 * 1024 * 1024
    assert load_limits({"PARSER_PDF_MAX_WORKERS": "4"}).pdf_max_workers == 4
    with pytest.raises(ConfigError, match="PARSER_PDF_MAX_WORKERS must be at least 1"):
        load_limits({"PARSER_PDF_MAX_WORKERS": "0"})
