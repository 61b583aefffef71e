"""ElevenLabs: characters per model per day; cost only from a known price table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from support.fakes import FakeElevenLabs
from usage.connectors.base import UnexpectedShape
from usage.connectors.elevenlabs import ElevenLabsConnector, genai_character_price
from usage.records import PRICE_UNKNOWN

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)


def test_without_a_known_price_cost_stays_zero_and_is_flagged(http: Any, clock: Any) -> None:
    with FakeElevenLabs() as fake:
        fake.load_usage(
            [
                {"date": D1, "model": "eleven_multilingual_v2", "characters": 1200},
                {"date": D1, "model": "eleven_flash_v2_5", "characters": Decimal("300.5")},
                {"date": D2, "model": "eleven_multilingual_v2", "characters": 5},
            ]
        )
        results = list(
            ElevenLabsConnector(http=http, base_url=fake.url, clock=clock).fetch(fake.api_key, D1, D3)
        )
        call = fake.requests[0]
    assert call.param("breakdown_type") == "model" and call.param("aggregation_interval") == "day"
    assert call.param("start_unix") == "1788220800000"  # 2026-09-01T00:00:00Z in ms
    assert call.param("end_unix") == "1788479999999"  # 2026-09-03T23:59:59.999Z
    assert [len(r.records) for r in results] == [2, 1, 0]
    v2 = next(r for r in results[0].records if r.model == "eleven_multilingual_v2")
    assert v2.units == {"characters": 1200} and v2.cost_usd == 0
    assert v2.estimated and PRICE_UNKNOWN in v2.warnings
    assert v2.line_items[0].name == PRICE_UNKNOWN and v2.line_items[0].quantity == 1200
    flash = next(r for r in results[0].records if r.model == "eleven_flash_v2_5")
    assert flash.units == {"characters": 301} and flash.line_items[0].quantity == Decimal("300.5")


def test_genai_prices_has_no_character_price_for_elevenlabs_tts() -> None:
    # Documents the finding behind the price_unknown path (genai-prices 0.2.x).
    assert genai_character_price("eleven_multilingual_v2", D1) is None
    assert genai_character_price("eleven_realtime_v1_mini", D1) is None  # priced per token/hour only


def test_known_price_gives_an_estimated_cost(http: Any, clock: Any) -> None:
    def price(model: str, day: date) -> Decimal | None:
        return Decimal("0.00018") if model == "eleven_multilingual_v2" else None

    with FakeElevenLabs() as fake:
        fake.load_usage([{"date": D2, "model": "eleven_multilingual_v2", "characters": 10000}])
        connector = ElevenLabsConnector(http=http, base_url=fake.url, clock=clock, price_lookup=price)
        [day] = connector.fetch(fake.api_key, D2, D2)
    [record] = day.records
    assert record.cost_usd == Decimal("1.80000") and record.estimated and not record.warnings


def test_misaligned_series_fails_the_window(http: Any, clock: Any) -> None:
    with FakeElevenLabs() as fake:
        fake.serve_raw(
            "/usage/character-stats", {"time": [1788220800000, 1788307200000], "usage": {"m": [1]}}
        )
        results = list(
            ElevenLabsConnector(http=http, base_url=fake.url, clock=clock).fetch(fake.api_key, D1, D2)
        )
    assert [r.day for r in results] == [D1, D2]
    assert all(isinstance(r.error, UnexpectedShape) and r.error.day == r.day for r in results)


def test_workspace_metrics_opt_in(http: Any, clock: Any) -> None:
    with FakeElevenLabs() as fake:
        connector = ElevenLabsConnector(
            http=http, base_url=fake.url, clock=clock, include_workspace_metrics=True
        )
        list(connector.fetch(fake.api_key, D1, D1))
        assert fake.requests[0].param("include_workspace_metrics") == "true"
