"""All provider fakes at once, for a test session's stack.

The ``stack`` fixture starts one ``ProviderFakes`` before the services and points every
connector at it through ``PROVIDER_BASE_URL_<PLATFORM>`` (each fake's ``url`` is its API root, the
same path as the provider SDK's base URL: docs/providers.md). Tests load data into their own
tenant (``provider_fakes.openai.tenant()``), never into the shared default data set.
"""

from __future__ import annotations

from .anthropic_admin import FakeAnthropic
from .aws_cost_explorer import FakeCostExplorer
from .azure_cost_management import FakeAzureCostManagement
from .base import FakeProviderServer
from .deepgram import FakeDeepgram
from .elevenlabs import FakeElevenLabs
from .google_bigquery import FakeBigQuery
from .openai_admin import FakeOpenAI
from .openrouter import FakeOpenRouter

# Provider calls from the test stack fail fast: a 503 throughout must not cost a test
# minutes of back-off, nor a hanging fake minutes of waiting (the fakes answer in milliseconds;
# 8 s leaves room for a loaded machine). Production keeps the connector defaults.
FAST_RETRY_ENV = {
    "USAGE_PROVIDER_MAX_ATTEMPTS": "2",
    "USAGE_PROVIDER_BACKOFF_SECONDS": "0.05",
    "USAGE_PROVIDER_RETRY_AFTER_MAX_SECONDS": "0.2",
    "USAGE_PROVIDER_TIMEOUT_SECONDS": "8",
}


class ProviderFakes:
    def __init__(self) -> None:
        self.openai = FakeOpenAI()
        self.anthropic = FakeAnthropic()
        self.elevenlabs = FakeElevenLabs()
        self.openrouter = FakeOpenRouter()
        self.deepgram = FakeDeepgram()
        self.aws_bedrock = FakeCostExplorer()
        self.azure_openai = FakeAzureCostManagement()
        self.google = FakeBigQuery()

    @property
    def by_platform(self) -> dict[str, FakeProviderServer]:
        return {
            "openai": self.openai,
            "anthropic": self.anthropic,
            "elevenlabs": self.elevenlabs,
            "openrouter": self.openrouter,
            "deepgram": self.deepgram,
            "aws_bedrock": self.aws_bedrock,
            "azure_openai": self.azure_openai,
            "google": self.google,
        }

    def start(self) -> ProviderFakes:
        started: list[FakeProviderServer] = []
        try:
            for fake in self.by_platform.values():
                started.append(fake.start())
        except BaseException:
            for fake in started:
                fake.stop()
            raise
        return self

    def stop(self) -> None:
        for fake in self.by_platform.values():
            fake.stop()

    def __enter__(self) -> ProviderFakes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stack_env(self) -> dict[str, str]:
        """``PROVIDER_BASE_URL_<PLATFORM>`` for every fake, plus fast provider retries."""
        urls = {f"PROVIDER_BASE_URL_{name.upper()}": fake.url for name, fake in self.by_platform.items()}
        # Azure's token endpoint (login.microsoftonline.com) is served by the same fake.
        urls["PROVIDER_AUTH_URL_AZURE_OPENAI"] = self.azure_openai.url
        # Google: the service-account keys the fake issues name its token endpoint as token_uri,
        # which the connector accepts only when it is Google's or this one.
        return {**urls, "PROVIDER_TOKEN_URI_GOOGLE": self.google.token_url, **FAST_RETRY_ENV}
