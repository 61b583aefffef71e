"""Behaviour every connector shares, run against each provider's fake server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from testkit.fakes import FakeAnthropic, FakeDeepgram, FakeElevenLabs, FakeOpenAI, FakeOpenRouter
from usage.connectors import (
    CONNECTORS,
    PLATFORMS,
    InvalidCredential,
    ProviderUnavailable,
    connector_for,
)
from usage.records import total_cost

START, END = date(2026, 9, 1), date(2026, 9, 3)
DATA_DAY = date(2026, 9, 2)


@dataclass(frozen=True)
class Harness:
    platform: str
    fake: type
    load_one_day: Callable[[Any, date], None]  # loads data costing exactly COST on that day
    auth_header: str
    message_fragment: str
    extra: dict[str, Any] | None = None


COST = Decimal("1.25")

HARNESSES = [
    Harness(
        "openai",
        FakeOpenAI,
        lambda f, d: f.load_costs(
            [
                {
                    "date": d,
                    "amount": "1.25",
                    "line_item": "gpt-4o, input",
                    "quantity": 100,
                    "quantity_unit": "tokens",
                },
            ]
        ),
        "authorization",
        "platform.openai.com/settings/organization/admin-keys",
    ),
    Harness(
        "anthropic",
        FakeAnthropic,
        lambda f, d: f.load_costs(
            [
                {
                    "date": d,
                    "amount": "125",
                    "model": "claude-x",
                    "description": "Claude X Usage - Input Tokens",
                    "token_type": "uncached_input_tokens",
                },
            ]
        ),
        "x-api-key",
        "sk-ant-admin",
    ),
    Harness(
        "elevenlabs",
        FakeElevenLabs,
        lambda f, d: f.load_usage(
            [
                {"date": d, "model": "eleven_test_model", "characters": 5000},
            ]
        ),
        "xi-api-key",
        "elevenlabs.io/app/settings/api-keys",
        {"price_lookup": lambda model, day: Decimal("0.00025")},
    ),
    Harness(
        "openrouter",
        FakeOpenRouter,
        lambda f, d: f.load_activity(
            [
                {"date": d.isoformat(), "model": "openai/gpt-4.1", "usage": Decimal("1.25"), "requests": 3},
            ]
        ),
        "authorization",
        "management",
    ),
    Harness(
        "deepgram",
        FakeDeepgram,
        lambda f, d: f.load_billing(
            "project-1",
            [
                {"date": d, "line_item": "streaming::nova-3", "dollars": Decimal("1.25")},
            ],
        ),
        "authorization",
        "console.deepgram.com",
    ),
]


@pytest.fixture(params=HARNESSES, ids=lambda h: h.platform)
def harness(request: pytest.FixtureRequest) -> Harness:
    return request.param


def make(h: Harness, fake: Any, http: Any, clock: Any) -> Any:
    if hasattr(fake, "clock"):
        fake.clock = clock  # a fake whose answers depend on today (OpenRouter's window) shares the clock
    return connector_for(h.platform, http=http, base_url=fake.url, clock=clock, **(h.extra or {}))


# Connectors with their own contract tests: AWS signs with SigV4 through botocore and has no
# Retry-After (test_aws_bedrock.py); Azure takes a token first, POSTs its query and throttles with
# its own headers (test_azure_openai.py); Google authenticates through google-auth and queries
# BigQuery (test_google_vertex.py). Each covers the same behaviours.
OWN_CONTRACT_TESTS = {"aws_bedrock", "azure_openai", "google"}


def test_every_connector_has_platform_metadata() -> None:
    assert {h.platform for h in HARNESSES} | OWN_CONTRACT_TESTS == set(CONNECTORS)
    for platform_id in CONNECTORS:
        assert PLATFORMS[platform_id].connect in ("api_key", "both")


def test_totals_and_one_result_per_day(harness: Harness, http: Any, clock: Any) -> None:
    with harness.fake() as fake:
        harness.load_one_day(fake, DATA_DAY)
        results = list(make(harness, fake, http, clock).fetch(fake.api_key, START, END))
        assert all(harness.auth_header in r.headers for r in fake.requests)
    assert [r.day for r in results] == [START, DATA_DAY, END]
    assert all(r.ok and not r.provisional for r in results)
    assert results[0].records == () and results[2].records == ()  # empty days are empty, not failed
    assert total_cost(results[1].records) == COST
    assert all(rec.platform == harness.platform and rec.source == "api" for rec in results[1].records)


def test_rate_limited_then_success(harness: Harness, http: Any, clock: Any, sleeps: Any) -> None:
    with harness.fake() as fake:
        harness.load_one_day(fake, DATA_DAY)
        fake.rate_limit(times=2, retry_after="7")
        results = list(make(harness, fake, http, clock).fetch(fake.api_key, START, END))
    assert all(r.ok for r in results)
    assert sum(total_cost(r.records) for r in results) == COST
    assert sleeps.calls[:2] == [7.0, 7.0]  # Retry-After honoured


def test_invalid_key_gives_actionable_message(harness: Harness, http: Any, clock: Any) -> None:
    wrong = "wrong-key-abcdef123456"
    with harness.fake() as fake:
        harness.load_one_day(fake, DATA_DAY)
        with pytest.raises(InvalidCredential) as caught:
            list(make(harness, fake, http, clock).fetch(wrong, START, END))
        assert len(fake.requests) == 1  # auth errors are not retried
    assert caught.value.status == 401
    assert harness.message_fragment.lower() in caught.value.message_for_user.lower()
    assert wrong not in caught.value.message_for_user


def test_unavailable_throughout_gives_up_after_bounded_retries(
    harness: Harness, http: Any, clock: Any, sleeps: Any
) -> None:
    with harness.fake() as fake:
        fake.unavailable()
        with pytest.raises(ProviderUnavailable, match="HTTP 503"):
            list(make(harness, fake, http, clock).fetch(fake.api_key, START, END))
        assert len(fake.requests) == http.max_attempts
    assert sleeps.calls == [1.0, 2.0]  # exponential backoff, no Retry-After given


def test_recent_days_are_provisional_and_future_days_skipped(harness: Harness, http: Any, clock: Any) -> None:
    today = clock().date()
    with harness.fake() as fake:
        harness.load_one_day(fake, today - timedelta(days=1))
        results = list(
            make(harness, fake, http, clock).fetch(
                fake.api_key, today - timedelta(days=4), today + timedelta(days=5)
            )
        )
    assert [r.day for r in results][-1] == today
    assert [r.provisional for r in results] == [False, False, True, True, True]
    records = [rec for r in results for rec in r.records]
    assert records and all(rec.provisional for rec in records)


def test_base_url_comes_from_environment(harness: Harness, http: Any, clock: Any) -> None:
    with harness.fake() as fake:
        harness.load_one_day(fake, DATA_DAY)
        env = {f"PROVIDER_BASE_URL_{harness.platform.upper()}": fake.url + "/"}
        if hasattr(fake, "clock"):
            fake.clock = clock
        connector = connector_for(harness.platform, http=http, env=env, clock=clock, **(harness.extra or {}))
        results = list(connector.fetch(fake.api_key, DATA_DAY, DATA_DAY))
    assert total_cost(results[0].records) == COST
