"""OpenRouter: one activity request per day; endpoints of a model are summed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from support.fakes import FakeOpenRouter
from usage.connectors.base import ProviderRejected, UnexpectedShape
from usage.connectors.openrouter import OpenRouterConnector
from usage.records import BYOK_BILLED_UPSTREAM, total_cost

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)


def connector(fake: FakeOpenRouter, http: Any, clock: Any) -> OpenRouterConnector:
    return OpenRouterConnector(http=http, base_url=fake.url, clock=clock)


def test_activity_per_day_and_model(http: Any, clock: Any) -> None:
    with FakeOpenRouter() as fake:
        fake.load_activity(
            [
                {
                    "date": "2026-09-01",
                    "model": "openai/gpt-4.1",
                    "provider_name": "OpenAI",
                    "usage": Decimal("0.015"),
                    "requests": 5,
                    "prompt_tokens": 50,
                    "completion_tokens": 125,
                    "reasoning_tokens": 25,
                },
                {
                    "date": "2026-09-01",
                    "model": "openai/gpt-4.1",
                    "provider_name": "Azure",
                    "usage": Decimal("0.005"),
                    "byok_usage_inference": Decimal("0.012"),
                    "requests": 1,
                    "prompt_tokens": 5,
                    "completion_tokens": 1,
                },
                {"date": "2026-09-03", "model": "anthropic/claude-x", "usage": "1.10", "requests": 2},
            ]
        )
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D3))
        dates = [c.param("date") for c in fake.calls("/activity")]
    assert dates == ["2026-09-01", "2026-09-02", "2026-09-03"]
    [gpt] = results[0].records
    assert gpt.cost_usd == Decimal("0.020")  # BYOK inference is billed upstream, not counted
    assert gpt.units == {
        "input_unsplit_tokens": 55,
        "output_tokens": 126,
        "reasoning_tokens": 25,
        "requests": 6,
    }
    assert BYOK_BILLED_UPSTREAM in gpt.warnings
    byok = [i for i in gpt.line_items if "BYOK" in i.name]
    assert byok[0].quantity == Decimal("0.012") and byok[0].cost_usd == 0
    assert results[1].ok and results[1].records == ()
    assert total_cost(results[2].records) == Decimal("1.10")


def test_a_rejected_or_odd_day_fails_alone(http: Any, clock: Any) -> None:
    with FakeOpenRouter() as fake:
        fake.load_activity(
            [
                {"date": "2026-09-01", "model": "m", "usage": Decimal("1")},
                {"date": "2026-09-03", "model": "m", "usage": None},
            ]
        )
        fake.fail(400, times=1, body={"error": {"code": 400, "message": "date out of range"}})
        results = list(connector(fake, http, clock).fetch(fake.api_key, D2, D3))
    assert isinstance(results[0].error, ProviderRejected) and results[0].error.status == 400
    assert isinstance(results[1].error, UnexpectedShape)


def test_row_for_another_day_is_not_misattributed(http: Any, clock: Any) -> None:
    with FakeOpenRouter() as fake:
        fake.serve_raw("/activity", {"data": [{"date": "2026-08-31", "model": "m", "usage": 1}]})
        [day] = connector(fake, http, clock).fetch(fake.api_key, D1, D1)
    assert isinstance(day.error, UnexpectedShape) and "2026-08-31" in day.error.detail
