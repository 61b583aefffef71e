"""Shared cursor pagination (``Connector._paginate``, OpenAI and Anthropic): a page that says
``has_more`` but gives no ``next_page`` fails its window clearly; no partial day is kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from testkit.fakes import FakeAnthropic, FakeOpenAI
from usage.connectors import connector_for
from usage.connectors.base import UnexpectedShape
from usage.records import total_cost

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)

PAGINATED = [
    (
        "openai",
        FakeOpenAI,
        lambda f, d: f.load_costs(
            [{"date": d, "amount": "1.25", "line_item": "gpt-4o, input", "quantity": 1, "quantity_unit": "t"}]
        ),
    ),
    (
        "anthropic",
        FakeAnthropic,
        lambda f, d: f.load_costs(
            [{"date": d, "amount": "125", "model": "claude-x", "description": "x", "token_type": "t"}]
        ),
    ),
]


def lose_cursors(fake: Any) -> None:
    """The provider keeps saying has_more but stops sending the cursor to ask for it."""
    original = fake.route

    def route(path: str, query: dict) -> tuple[int, Any]:
        status, body = original(path, query)
        if status == 200 and body.get("has_more"):
            body = {**body, "next_page": None}
        return status, body

    fake.route = route


@pytest.mark.parametrize(("platform", "fake_type", "load"), PAGINATED, ids=[p[0] for p in PAGINATED])
def test_has_more_without_next_page_fails_the_window(
    platform: str, fake_type: Any, load: Any, http: Any, clock: Any
) -> None:
    with fake_type() as fake:
        for day in (D1, D2, D3):
            load(fake, day)
        fake.page_size = 1  # one day per page: the first page says has_more
        lose_cursors(fake)
        results = list(
            connector_for(platform, http=http, base_url=fake.url, clock=clock).fetch(fake.api_key, D1, D3)
        )
    assert [r.day for r in results] == [D1, D2, D3]
    assert all(isinstance(r.error, UnexpectedShape) and r.records == () for r in results)  # D1 not kept
    assert "next_page" in results[0].error.detail


@pytest.mark.parametrize(("platform", "fake_type", "load"), PAGINATED, ids=[p[0] for p in PAGINATED])
def test_pages_are_followed_to_the_end(
    platform: str, fake_type: Any, load: Any, http: Any, clock: Any
) -> None:
    with fake_type() as fake:
        for day in (D1, D2, D3):
            load(fake, day)
        fake.page_size = 1
        results = list(
            connector_for(platform, http=http, base_url=fake.url, clock=clock).fetch(fake.api_key, D1, D3)
        )
    assert all(r.ok for r in results)
    assert sum(total_cost(r.records) for r in results) == Decimal("3.75")
