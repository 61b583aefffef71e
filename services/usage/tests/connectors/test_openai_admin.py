"""OpenAI: cost rows joined with usage rows per day and model, exact to the cent."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from testkit.fakes import FakeOpenAI
from usage.connectors.base import ProviderRejected, UnexpectedShape
from usage.connectors.openai_admin import OpenAIConnector, split_line_item
from usage.records import UNATTRIBUTED_MODEL, merge_records, total_cost

D1, D2, D3, D4, D5 = (date(2026, 9, d) for d in range(1, 6))


def per_model(records: Any) -> dict[str, Any]:
    """The records of a day merged across the provider's attribution (projects, keys)."""
    flat = [dataclasses.replace(r, project_id="", api_key_id="") for r in records]
    return {r.model: r for r in merge_records(flat)}


def connector(fake: FakeOpenAI, http: Any, clock: Any) -> OpenAIConnector:
    return OpenAIConnector(http=http, base_url=fake.url, clock=clock)


def by_model(result: Any) -> dict[str, Any]:
    return per_model(result.records)


@pytest.mark.parametrize(
    ("line_item", "expected"),
    [
        ("gpt-4o-2024-08-06, input", ("gpt-4o-2024-08-06", "input")),
        ("ft-gpt-4o-2024-08-06, output", ("ft-gpt-4o-2024-08-06", "output")),
        ("evals | gpt-4o-mini-2024-07-18, input", ("gpt-4o-mini-2024-07-18", "input")),
        ("assistants api | file search", (UNATTRIBUTED_MODEL, "assistants api | file search")),
        (None, (UNATTRIBUTED_MODEL, "")),
    ],
)
def test_split_line_item(line_item: str | None, expected: tuple[str, str]) -> None:
    assert split_line_item(line_item) == expected


def test_costs_and_usage_join_per_day_and_model(http: Any, clock: Any) -> None:
    with FakeOpenAI() as fake:
        fake.load_costs(
            [
                # numeric strings, JSON numbers and two projects for the same line item
                {
                    "date": D1,
                    "amount": "12.50",
                    "line_item": "gpt-4o, input",
                    "quantity": 5000000,
                    "quantity_unit": "tokens",
                    "project_id": "proj_a",
                },
                {
                    "date": D1,
                    "amount": Decimal("0.01"),
                    "line_item": "gpt-4o, input",
                    "quantity": 4000,
                    "quantity_unit": "tokens",
                    "project_id": "proj_b",
                },
                {
                    "date": D1,
                    "amount": Decimal("3.333333"),
                    "line_item": "gpt-4o, output",
                    "quantity": 333333,
                    "quantity_unit": "tokens",
                    "project_id": "proj_a",
                },
                {
                    "date": D1,
                    "amount": "0.1",
                    "line_item": "assistants api | file search",
                    "quantity": None,
                    "quantity_unit": None,
                },
                {
                    "date": D1,
                    "amount": "0.2",
                    "line_item": "tts-1, characters",
                    "quantity": 1000,
                    "quantity_unit": "characters",
                },
            ]
        )
        fake.load_usage(
            "completions",
            [
                {
                    "date": D1,
                    "model": "gpt-4o",
                    "input_tokens": 5004000,
                    "output_tokens": 333333,
                    "input_cached_tokens": 1000,
                    "num_model_requests": 42,
                    "batch": None,
                },
                {
                    "date": D1,
                    "model": "gpt-4o-mini",
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "num_model_requests": 1,
                },  # usage without cost: kept, cost 0
            ],
        )
        fake.load_usage(
            "audio_speeches", [{"date": D1, "model": "tts-1", "characters": 1000, "num_model_requests": 2}]
        )
        fake.load_usage("vector_stores", [{"date": D1, "usage_bytes": 2048}])
        fake.load_usage("code_interpreter_sessions", [{"date": D1, "num_sessions": 3}])
        # num_model_requests here repeats completions' count and must not be added to requests.
        fake.load_usage(
            "web_search_calls",
            [
                {
                    "date": D1,
                    "model": "gpt-4o",
                    "num_model_requests": 4,
                    "num_requests": 5,
                    "context_level": None,
                }
            ],
        )
        fake.load_usage("file_search_calls", [{"date": D1, "num_requests": 6, "vector_store_id": None}])
        [day] = connector(fake, http, clock).fetch(fake.api_key, D1, D1)
        web_call = fake.calls("/organization/usage/web_search_calls")[0]
        file_call = fake.calls("/organization/usage/file_search_calls")[0]

    assert day.ok
    assert total_cost(day.records) == Decimal("16.143333")  # 12.50+0.01+3.333333+0.1+0.2
    models = by_model(day)
    gpt = models["gpt-4o"]
    assert gpt.cost_usd == Decimal("15.843333")
    # OpenAI's input_tokens (5004000) include the 1000 cached ones: stored split, adding up again.
    assert gpt.units == {
        "input_uncached_tokens": 5003000,
        "cache_read_tokens": 1000,
        "output_tokens": 333333,
        "requests": 42,
        "web_search_calls": 5,
    }
    attribution = ["project_id", "api_key_id"]
    assert web_call.query["group_by"] == ["model", *attribution]
    assert file_call.query["group_by"] == attribution
    items = {i.name: i for i in gpt.line_items}
    assert items["gpt-4o, input"].quantity == 5004000  # projects summed
    assert items["gpt-4o, input"].cost_usd == Decimal("12.51")
    assert items["gpt-4o, input"].unit == "tokens"
    assert models["gpt-4o-mini"].cost_usd == 0 and models["gpt-4o-mini"].units["requests"] == 1
    assert models["tts-1"].units == {"characters": 1000, "requests": 2}
    other = models[UNATTRIBUTED_MODEL]
    assert other.cost_usd == Decimal("0.1")
    assert other.units == {"vector_store_bytes": 2048, "code_interpreter_sessions": 3, "file_search_calls": 6}
    assert not any(r.estimated for r in day.records)


def test_paginates_every_endpoint_to_the_end(http: Any, clock: Any) -> None:
    with FakeOpenAI() as fake:
        fake.page_size = 2  # five days -> three pages per endpoint
        fake.load_costs([{"date": d, "amount": "1.01", "line_item": "gpt-4o, input"} for d in (D1, D3, D5)])
        fake.load_usage(
            "completions",
            [
                {
                    "date": D5,
                    "model": "gpt-4o",
                    "input_tokens": 7,
                    "output_tokens": 1,
                    "num_model_requests": 1,
                },
            ],
        )
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D5))
        cost_calls = fake.calls("/organization/costs")
    assert [r.day for r in results] == [D1, D2, D3, D4, D5]
    assert sum(total_cost(r.records) for r in results) == Decimal("3.03")
    assert results[4].records[0].units["input_uncached_tokens"] == 7
    assert [c.param("page") for c in cost_calls] == [None, "page_2", "page_4"]
    assert cost_calls[0].query["group_by"] == ["line_item", "project_id", "api_key_id"]
    assert cost_calls[0].param("bucket_width") == "1d" and cost_calls[0].param("limit") == "5"


def test_long_ranges_are_fetched_in_31_day_windows(http: Any, clock: Any) -> None:
    with FakeOpenAI() as fake:
        results = list(connector(fake, http, clock).fetch(fake.api_key, date(2026, 7, 1), date(2026, 8, 31)))
        starts = [int(c.param("start_time") or 0) for c in fake.calls("/organization/costs")]
    assert len(results) == 62 and all(r.ok for r in results)
    assert len(starts) == 2 and starts[1] - starts[0] == 31 * 86400


def test_unknown_shape_fails_only_that_day(http: Any, clock: Any) -> None:
    with FakeOpenAI() as fake:
        fake.load_costs(
            [
                {"date": D1, "amount": "1.00", "line_item": "gpt-4o, input"},
                {"date": D2, "result": {"object": "organization.costs.result", "amount": {"val": 1}}},
                {"date": D3, "amount": "2.00", "line_item": "gpt-4o, input"},
                {"date": D4, "amount": "5.00", "currency": "eur", "line_item": "gpt-4o, input"},
            ]
        )
        fake.load_usage(
            "images", [{"date": D3, "model": "dall-e-3", "images": "many", "num_model_requests": 1}]
        )
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D4))
    assert results[0].ok and total_cost(results[0].records) == Decimal("1.00")
    for failed in (results[1], results[2], results[3]):
        assert isinstance(failed.error, UnexpectedShape) and failed.error.day == failed.day
        assert failed.records == ()  # a failed day is never reported as zero
    assert "cost in 'eur'" in str(results[3].error)


def test_broken_envelope_fails_every_day_of_the_window(http: Any, clock: Any) -> None:
    with FakeOpenAI() as fake:
        fake.serve_raw("/organization/usage/embeddings", {"object": "page", "buckets": []})
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D2))
    assert [type(r.error) for r in results] == [UnexpectedShape, UnexpectedShape]
    assert [r.error.day for r in results if r.error] == [D1, D2]


def test_input_tokens_are_split_into_uncached_cache_read_and_cache_write(http: Any, clock: Any) -> None:
    # openai/openai-openapi UsageCompletionsResult: input_tokens include cached and cache-write
    # tokens, and audio/image input counts are parts of the uncached input.
    with FakeOpenAI() as fake:
        fake.load_usage(
            "completions",
            [
                {
                    "date": D1,
                    "model": "gpt-realtime",
                    "input_tokens": 1000,
                    "input_cached_tokens": 300,
                    "input_cache_write_tokens": 200,
                    "input_audio_tokens": 400,
                    "output_tokens": 90,
                    "output_audio_tokens": 60,
                    "num_model_requests": 3,
                },
                {
                    "date": D2,
                    "model": "gpt-4o",
                    "input_tokens": 10,
                    "input_cached_tokens": 11,  # more cached than in total: not what the spec allows
                    "output_tokens": 1,
                    "num_model_requests": 1,
                },
            ],
        )
        first, second = connector(fake, http, clock).fetch(fake.api_key, D1, D2)
    [record] = first.records
    assert record.units == {
        "input_uncached_tokens": 500,
        "cache_read_tokens": 300,
        "cache_write_tokens": 200,
        "input_audio_tokens": 400,
        "output_tokens": 90,
        "output_audio_tokens": 60,
        "requests": 3,
    }
    assert isinstance(second.error, UnexpectedShape) and second.error.day == D2


def test_the_fake_refuses_model_grouping_where_the_spec_has_none(http: Any) -> None:
    with FakeOpenAI() as fake:
        url = f"{fake.url}/organization/usage/file_search_calls?start_time=1788220800&group_by=model"
        with pytest.raises(ProviderRejected):
            http.get_json(url, headers={"Authorization": f"Bearer {fake.api_key}"})
