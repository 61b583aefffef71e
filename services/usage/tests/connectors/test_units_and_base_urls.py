"""One meaning per unit name (svccommon.units) and one base-URL rule for every platform."""

from __future__ import annotations

from urllib.parse import urlsplit

from svccommon.units import canonical_units
from testkit.fakes import ProviderFakes
from usage.connectors import CONNECTORS

# The base URL each provider's official SDK uses by default (docs/providers.md): the value an
# operator puts in PROVIDER_BASE_URL_<PLATFORM> when a proxy stands in for the provider.
SDK_ROOTS = {
    "openai": "https://api.openai.com/v1",  # openai-python: base_url
    "anthropic": "https://api.anthropic.com",  # anthropic-sdk-python: base_url
    "elevenlabs": "https://api.elevenlabs.io",  # elevenlabs-python: ElevenLabsEnvironment.PRODUCTION
    "openrouter": "https://openrouter.ai/api/v1",  # OpenRouter docs: the OpenAI-compatible base URL
    "deepgram": "https://api.deepgram.com",  # deepgram-python-sdk: DeepgramClientEnvironment.PRODUCTION
    # botocore data/ce/2017-10-25/endpoint-rule-set-1.json: the aws partition's global endpoint
    "aws_bedrock": "https://ce.us-east-1.amazonaws.com",
    # Azure Cost Management REST reference: POST https://management.azure.com/{scope}/providers/...
    "azure_openai": "https://management.azure.com",
    "google": "https://bigquery.googleapis.com",
}


def test_every_connector_defaults_to_its_sdks_api_root() -> None:
    assert {p: c.default_base_url for p, c in CONNECTORS.items()} == SDK_ROOTS


def test_every_fake_is_reached_at_the_same_root_path() -> None:
    # stack_env() hands each fake's url to PROVIDER_BASE_URL_<PLATFORM>: it must end where the
    # SDK root ends, so a connector adds the same paths for a fake as for the real API.
    fakes = ProviderFakes()
    with fakes:
        for platform, fake in fakes.by_platform.items():
            assert urlsplit(fake.url).path == urlsplit(SDK_ROOTS[platform]).path, platform
            assert fakes.stack_env()[f"PROVIDER_BASE_URL_{platform.upper()}"] == fake.url


def test_legacy_unit_names_are_read_with_their_platforms_meaning() -> None:
    openai_usage = {
        "input_tokens": 100,
        "cached_input_tokens": 30,
        "cache_write_input_tokens": 5,
        "requests": 2,
    }
    assert canonical_units("openai", openai_usage) == {
        "input_uncached_tokens": 65,
        "cache_read_tokens": 30,
        "cache_write_tokens": 5,
        "requests": 2,
    }
    # The OpenAI cost export had no requests and billed cached input on its own line.
    assert canonical_units("openai", {"input_tokens": 100, "cached_input_tokens": 30}) == {
        "input_uncached_tokens": 100,
        "cache_read_tokens": 30,
    }
    assert canonical_units("anthropic", {"input_tokens": 7, "operations": 2}) == {
        "input_uncached_tokens": 7,
        "web_search_calls": 2,
    }
    assert canonical_units("openai", {"operations": 3}) == {"code_interpreter_sessions": 3}
    assert canonical_units("openrouter", {"input_tokens": 9}) == {"input_unsplit_tokens": 9}
    assert canonical_units("mistral", {"input_tokens": 4, "operations": 1}) == {
        "input_uncached_tokens": 4,
        "operations": 1,
    }
    canonical = {"input_uncached_tokens": 1, "cache_read_tokens": 2, "credits": 3}
    assert canonical_units("openai", canonical) == canonical
