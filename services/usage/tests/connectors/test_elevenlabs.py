"""ElevenLabs: characters and credits per model per day, whole workspace; cost only from a known
price table. The fake follows the official SDK (services/common/testkit/fakes/elevenlabs.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from testkit.fakes import FakeElevenLabs
from usage.connectors.base import InvalidCredential, ProviderRejected, UnexpectedShape
from usage.connectors.elevenlabs import ElevenLabsConnector, genai_character_price
from usage.records import PRICE_UNKNOWN, WORKSPACE_USAGE_NOT_INCLUDED

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)


def test_reads_characters_and_credits_per_model_for_the_whole_workspace(http: Any, clock: Any) -> None:
    with FakeElevenLabs() as fake:
        fake.load_usage(
            [
                {"date": D1, "model": "eleven_multilingual_v2", "characters": 1200, "credits": 1200},
                {"date": D1, "model": "eleven_flash_v2_5", "characters": Decimal("300.5"), "credits": 150},
                {"date": D1, "model": "eleven_flash_v2_5", "characters": 100, "credits": 50, "user": "u2"},
                {"date": D2, "model": "eleven_multilingual_v2", "characters": 5, "credits": 5},
                {"date": D2, "model": "scribe_v1", "credits": 400},  # speech to text: no characters
            ]
        )
        results = list(
            ElevenLabsConnector(http=http, base_url=fake.url, clock=clock).fetch(fake.api_key, D1, D3)
        )
        calls = fake.requests
    # One request per billed metric, each naming it: the API's default metric is not relied on.
    assert sorted(c.param("metric") for c in calls) == ["credits", "tts_characters"]
    for call in calls:
        assert call.path == "/usage/character-stats"
        assert call.param("breakdown_type") == "model" and call.param("aggregation_interval") == "day"
        assert call.param("include_workspace_metrics") == "true"
        assert call.param("start_unix") == "1788220800000"  # 2026-09-01T00:00:00Z in ms
        assert call.param("end_unix") == "1788479999999"  # 2026-09-03T23:59:59.999Z
    assert [len(r.records) for r in results] == [2, 2, 0]
    v2 = next(r for r in results[0].records if r.model == "eleven_multilingual_v2")
    assert v2.units == {"characters": 1200, "credits": 1200} and v2.cost_usd == 0
    assert v2.estimated and PRICE_UNKNOWN in v2.warnings
    assert v2.line_items[0].name == PRICE_UNKNOWN and v2.line_items[0].quantity == 1200
    flash = next(r for r in results[0].records if r.model == "eleven_flash_v2_5")
    # Another workspace member's usage is counted (include_workspace_metrics).
    assert flash.units == {"characters": 401, "credits": 200}
    assert flash.line_items[0].quantity == Decimal("400.5")
    scribe = next(r for r in results[1].records if r.model == "scribe_v1")
    assert scribe.units == {"credits": 400} and scribe.cost_usd == 0
    assert PRICE_UNKNOWN in scribe.warnings and scribe.line_items[0].unit == "credits"
    assert not any(WORKSPACE_USAGE_NOT_INCLUDED in r.warnings for day in results for r in day.records)


def test_a_key_without_workspace_rights_counts_its_owner_and_says_so(http: Any, clock: Any) -> None:
    with FakeElevenLabs(workspace_admin=False) as fake:
        fake.load_usage(
            [
                {"date": D1, "model": "eleven_multilingual_v2", "characters": 10, "credits": 10},
                {"date": D1, "model": "eleven_multilingual_v2", "characters": 7, "credits": 7, "user": "u2"},
                {"date": D2, "model": "eleven_multilingual_v2", "characters": 3, "credits": 3},
            ]
        )
        connector = ElevenLabsConnector(http=http, base_url=fake.url, clock=clock)
        connector.window_days = 1  # two windows: the fallback is remembered for the second
        results = list(connector.fetch(fake.api_key, D1, D2))
        workspace_asks = [c for c in fake.requests if c.param("include_workspace_metrics") == "true"]
    assert len(workspace_asks) == 1  # refused once, not asked again in the same sync
    [first], [second] = (r.records for r in results)
    assert first.units == {"characters": 10, "credits": 10} and second.units["characters"] == 3
    assert WORKSPACE_USAGE_NOT_INCLUDED in first.warnings and WORKSPACE_USAGE_NOT_INCLUDED in second.warnings


def test_a_bad_key_is_still_an_invalid_credential(http: Any, clock: Any) -> None:
    with FakeElevenLabs() as fake:
        connector = ElevenLabsConnector(http=http, base_url=fake.url, clock=clock)
        with pytest.raises(InvalidCredential):
            list(connector.fetch("sk_wrong_key_0000000", D1, D1))


def test_the_fake_refuses_what_the_api_refuses(http: Any, clock: Any) -> None:
    # The fake follows the SDK's parameter types: without a metric it answers credits, so a
    # connector that forgot the parameter would store credits as characters.
    with FakeElevenLabs() as fake:
        fake.load_usage([{"date": D1, "model": "m", "characters": 5, "credits": 9}])
        base = f"{fake.url}/v1/usage/character-stats?start_unix=1788220800000&end_unix=1788307199999"
        headers = {"xi-api-key": fake.api_key}
        assert http.get_json(base + "&breakdown_type=model", headers=headers)["usage"] == {"m": [9]}
        with pytest.raises(ProviderRejected):
            http.get_json(base + "&metric=characters", headers=headers)
        with pytest.raises(ProviderRejected):
            http.get_json(f"{fake.url}/v1/usage/character-stats?end_unix=1", headers=headers)


def test_genai_prices_has_no_character_price_for_elevenlabs_tts() -> None:
    # Documents the finding behind the price_unknown path (genai-prices 0.2.x).
    assert genai_character_price("eleven_multilingual_v2", D1) is None
    assert genai_character_price("eleven_realtime_v1_mini", D1) is None  # priced per token/hour only


def test_known_price_gives_an_estimated_cost(http: Any, clock: Any) -> None:
    def price(model: str, day: date) -> Decimal | None:
        return Decimal("0.00018") if model == "eleven_multilingual_v2" else None

    with FakeElevenLabs() as fake:
        fake.load_usage(
            [{"date": D2, "model": "eleven_multilingual_v2", "characters": 10000, "credits": 10000}]
        )
        connector = ElevenLabsConnector(http=http, base_url=fake.url, clock=clock, price_lookup=price)
        [day] = connector.fetch(fake.api_key, D2, D2)
    [record] = day.records
    assert record.cost_usd == Decimal("1.80000") and record.estimated and not record.warnings
    assert record.units == {"characters": 10000, "credits": 10000}
    assert [(i.unit, i.quantity, i.cost_usd) for i in record.line_items] == [
        ("characters", 10000, Decimal("1.80000"))
    ]


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


def test_workspace_metrics_can_be_turned_off(http: Any, clock: Any) -> None:
    with FakeElevenLabs() as fake:
        connector = ElevenLabsConnector(
            http=http, base_url=fake.url, clock=clock, include_workspace_metrics=False
        )
        list(connector.fetch(fake.api_key, D1, D1))
        assert all(c.param("include_workspace_metrics") is None for c in fake.requests)
