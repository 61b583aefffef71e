"""Anthropic: cents strings to exact dollars, usage tokens per model, pagination."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

from testkit.fakes import FakeAnthropic
from usage.connectors.anthropic_admin import AnthropicConnector
from usage.connectors.base import UnexpectedShape
from usage.records import (
    PRIORITY_COST_NOT_REPORTED,
    UNATTRIBUTED_MODEL,
    cents_to_usd,
    merge_records,
    total_cost,
)

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)


def per_model(records: Any) -> dict[str, Any]:
    """The records of a day merged across the provider's attribution (projects, keys)."""
    flat = [dataclasses.replace(r, project_id="", api_key_id="") for r in records]
    return {r.model: r for r in merge_records(flat)}


def connector(fake: FakeAnthropic, http: Any, clock: Any) -> AnthropicConnector:
    return AnthropicConnector(http=http, base_url=fake.url, clock=clock)


def test_cents_are_converted_exactly() -> None:
    assert cents_to_usd("123.78912") == Decimal("1.2378912")
    assert cents_to_usd("1") == Decimal("0.01")
    assert cents_to_usd(Decimal("0.5")) == Decimal("0.005")


def test_cost_report_and_usage_report_join(http: Any, clock: Any) -> None:
    with FakeAnthropic() as fake:
        fake.load_costs(
            [
                {
                    "date": D1,
                    "amount": "123.78912",
                    "model": "claude-opus-5",
                    "token_type": "uncached_input_tokens",
                    "description": "Claude Opus 5 Usage - Input Tokens",
                    "workspace_id": "wrkspc_a",
                },
                {
                    "date": D1,
                    "amount": "100.00",
                    "model": "claude-opus-5",
                    "token_type": "uncached_input_tokens",
                    "description": "Claude Opus 5 Usage - Input Tokens",
                    "workspace_id": "wrkspc_b",
                },
                {
                    "date": D1,
                    "amount": "50",
                    "model": "claude-opus-5",
                    "token_type": "output_tokens",
                    "description": "Claude Opus 5 Usage - Output Tokens",
                },
                {
                    "date": D1,
                    "amount": "7.5",
                    "model": None,
                    "cost_type": "web_search",
                    "description": "Web Search",
                },
            ]
        )
        fake.load_usage(
            [
                {
                    "date": D1,
                    "model": "claude-opus-5",
                    "service_tier": "standard",
                    "uncached_input_tokens": 1500,
                    "cache_read_input_tokens": 200,
                    "output_tokens": 500,
                    "cache_creation": {"ephemeral_1h_input_tokens": 1000, "ephemeral_5m_input_tokens": 500},
                    "server_tool_use": {"web_search_requests": 10},
                },
                {
                    "date": D1,
                    "model": "claude-opus-5",
                    "service_tier": "priority",
                    "uncached_input_tokens": 10,
                    "output_tokens": 5,
                },
            ]
        )
        [day] = connector(fake, http, clock).fetch(fake.api_key, D1, D1)
        call = fake.calls("/cost_report")[0]
    assert call.query["group_by[]"] == ["description", "workspace_id"]
    assert (
        call.param("starting_at") == "2026-09-01T00:00:00Z"
        and call.param("ending_at") == "2026-09-02T00:00:00Z"
    )
    assert day.ok
    assert total_cost(day.records) == Decimal("2.8128912")  # (123.78912+100+50+7.5) cents
    models = per_model(day.records)
    opus = models["claude-opus-5"]
    assert opus.cost_usd == Decimal("2.7378912")
    assert opus.units == {
        "input_uncached_tokens": 1510,
        "output_tokens": 505,
        "cache_read_tokens": 200,
        "cache_write_tokens": 1500,
        "web_search_calls": 10,
    }
    items = {i.name: i for i in opus.line_items}
    assert items["Claude Opus 5 Usage - Input Tokens"].cost_usd == Decimal("2.2378912")  # workspaces summed
    assert items["Claude Opus 5 Usage - Input Tokens"].quantity is None
    assert PRIORITY_COST_NOT_REPORTED in opus.warnings
    assert models[UNATTRIBUTED_MODEL].cost_usd == Decimal("0.075")


def test_pagination_and_usage_only_models(http: Any, clock: Any) -> None:
    with FakeAnthropic() as fake:
        fake.page_size = 1
        fake.load_costs([{"date": d, "amount": "33.33", "model": "claude-haiku-4-5"} for d in (D1, D2, D3)])
        fake.load_usage(
            [{"date": D3, "model": "claude-sonnet-5", "uncached_input_tokens": 9, "output_tokens": 1}]
        )
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D3))
        pages = [c.param("page") for c in fake.calls("/cost_report")]
    assert pages == [None, "page_1", "page_2"]
    assert sum(total_cost(r.records) for r in results) == Decimal("0.9999")
    sonnet = next(r for r in results[2].records if r.model == "claude-sonnet-5")
    assert sonnet.cost_usd == 0 and sonnet.units == {"input_uncached_tokens": 9, "output_tokens": 1}


def test_unknown_shape_fails_only_that_day(http: Any, clock: Any) -> None:
    with FakeAnthropic() as fake:
        fake.load_costs(
            [
                {"date": D1, "amount": "10", "model": "claude-x"},
                {"date": D2, "amount": {"cents": 10}, "model": "claude-x"},
                {"date": D3, "amount": "12.5", "currency": "EUR", "model": "claude-x"},
            ]
        )
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D3))
    assert results[0].ok and total_cost(results[0].records) == Decimal("0.10")
    assert all(isinstance(r.error, UnexpectedShape) for r in results[1:])
    assert results[1].error is not None and results[1].error.day == D2


def test_sends_version_header(http: Any, clock: Any) -> None:
    with FakeAnthropic() as fake:
        list(connector(fake, http, clock).fetch(fake.api_key, D1, D1))
        headers = fake.requests[0].headers
    assert headers["anthropic-version"] == "2023-06-01" and headers["x-api-key"] == fake.api_key
    assert "aicosts" in headers["user-agent"].lower()


def test_a_bucket_lands_on_the_day_that_holds_most_of_it_whatever_its_offset() -> None:
    from usage.connectors.anthropic_admin import rfc3339_day

    # The provider's 2026-09-28 begun at its local midnight, in UTC and in two offsets.
    for start in ("2026-09-28T00:00:00Z", "2026-09-28T00:00:00-08:00", "2026-09-28T00:00:00+09:00"):
        assert rfc3339_day(start) == date(2026, 9, 28), start
    assert rfc3339_day("2026-09-28T08:00:00Z") == date(2026, 9, 28)  # 08:00 UTC days (US Pacific)
    assert rfc3339_day("2026-09-27T15:00:00Z") == date(2026, 9, 28)  # Tokyo's day, written in UTC
    assert rfc3339_day("2028-02-29T00:00:00Z") == date(2028, 2, 29)
