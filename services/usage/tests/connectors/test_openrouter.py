"""OpenRouter: one activity request per day; endpoints of a model are summed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from testkit.fakes import FakeOpenRouter
from usage.connectors.base import ProviderRejected, UnexpectedShape
from usage.connectors.openrouter import OpenRouterConnector
from usage.records import BYOK_BILLED_UPSTREAM, total_cost

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)


def connector(fake: FakeOpenRouter, http: Any, clock: Any) -> OpenRouterConnector:
    fake.clock = clock  # the fake's window follows the same "today" as the connector
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


def test_only_the_last_30_completed_days_are_asked(http: Any, clock: Any) -> None:
    """A 90-day range: the days the API refuses (today, and before the 30 completed days) are not
    asked and come back as unavailable with the reason; the 30 days in the window are read."""
    today = clock().date()
    first_served, yesterday = today - timedelta(days=30), today - timedelta(days=1)
    with FakeOpenRouter() as fake:
        fake.load_activity(
            [{"date": d.isoformat(), "model": "m", "usage": "0.5"} for d in (first_served, yesterday)]
        )
        results = list(connector(fake, http, clock).fetch(fake.api_key, today - timedelta(days=89), today))
        asked = sorted(c.param("date") for c in fake.calls("/activity"))
    assert [r.day for r in results] == [today - timedelta(days=89 - i) for i in range(90)]
    assert asked == [(first_served + timedelta(days=i)).isoformat() for i in range(30)]
    served = [r for r in results if first_served <= r.day <= yesterday]
    assert len(served) == 30 and all(r.ok for r in served)
    assert sum(total_cost(r.records) for r in served) == Decimal("1.0")
    older = [r for r in results if r.day < first_served]
    assert len(older) == 59 and all(not r.ok and r.error is None for r in older)
    assert all("last 30 completed UTC days" in r.unavailable for r in older)
    assert results[-1].day == today and "today" in results[-1].unavailable and results[-1].error is None


def test_the_fake_refuses_what_the_api_refuses(http: Any, clock: Any) -> None:
    """The documented window, enforced by the fake: today, day 31 back and bad dates are a 400."""
    today = clock().date()
    with FakeOpenRouter() as fake:
        fake.clock = clock
        fake.load_activity([{"date": (today - timedelta(days=2)).isoformat(), "model": "m", "usage": "1"}])

        def status(**params: str) -> int:
            url = fake.url + "/activity"
            headers = {"Authorization": f"Bearer {fake.api_key}"}
            return http._session.get(url, params=params, headers=headers, timeout=5).status_code

        assert status(date=today.isoformat()) == 400
        assert status(date=(today - timedelta(days=31)).isoformat()) == 400
        assert status(date="2026-9-1") == 400 and status(date="yesterday") == 400
        assert status(date=(today - timedelta(days=30)).isoformat()) == 200
        assert status() == 200  # no date: the whole window
