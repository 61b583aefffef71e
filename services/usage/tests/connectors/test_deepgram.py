"""Deepgram: billing dollars per line item, usage units per model, all projects summed."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from testkit.fakes import FakeDeepgram
from usage.connectors.base import UnexpectedShape
from usage.connectors.deepgram import DeepgramConnector, line_item_model
from usage.records import merge_records, total_cost

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)


def per_model(records: Any) -> dict[str, Any]:
    """The records of a day merged across the provider's attribution (projects, keys)."""
    flat = [dataclasses.replace(r, project_id="", api_key_id="") for r in records]
    return {r.model: r for r in merge_records(flat)}


def connector(fake: FakeDeepgram, http: Any, clock: Any) -> DeepgramConnector:
    return DeepgramConnector(http=http, base_url=fake.url, clock=clock)


def test_line_item_model() -> None:
    assert line_item_model("streaming::nova-3") == "nova-3"
    assert line_item_model("aura-2") == "aura-2"
    assert line_item_model(None) == "(other)"


def test_billing_and_usage_over_projects(http: Any, clock: Any) -> None:
    with FakeDeepgram(projects=("p1", "p2")) as fake:
        fake.load_billing(
            "p1",
            [
                {"date": D1, "line_item": "streaming::nova-3", "dollars": Decimal("1.2345")},
                {"date": D1, "line_item": "sync::aura-2", "dollars": "0.30"},
            ],
        )
        fake.load_billing("p2", [{"date": D1, "line_item": "batch::nova-3", "dollars": Decimal("0.0055")}])
        fake.load_usage(
            "p1",
            [
                {
                    "date": D1,
                    "models": ["nova-3"],
                    "hours": Decimal("0.5"),
                    "total_hours": Decimal("0.5"),
                    "requests": 12,
                    "tokens_in": 0,
                    "tokens_out": 0,
                    "tts_characters": 0,
                },
                {"date": D1, "models": ["aura-2"], "hours": 0, "requests": 3, "tts_characters": 4200},
            ],
        )
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D2))
        billing = fake.calls("/projects/p1/billing/breakdown")
        listed = fake.calls("/projects")
    assert len(listed) == 1  # projects are listed once per sync
    assert len(billing) == 1  # one request per window, split by the per-day rows
    assert (billing[0].param("start"), billing[0].param("end")) == ("2026-09-01", "2026-09-03")
    assert billing[0].param("grouping") == "line_item"
    assert total_cost(results[0].records) == Decimal("1.5400")
    models = per_model(results[0].records)
    assert models["nova-3"].cost_usd == Decimal("1.2400")
    assert {i.name for i in models["nova-3"].line_items} == {"streaming::nova-3", "batch::nova-3"}
    assert models["nova-3"].units == {"seconds": 1800, "requests": 12}
    assert models["aura-2"].units == {"characters": 4200, "requests": 3}
    assert results[1].ok and results[1].records == ()


def test_unknown_shape_fails_only_that_day(http: Any, clock: Any) -> None:
    with FakeDeepgram() as fake:
        fake.load_billing(
            "project-1",
            [
                {"date": D1, "line_item": "streaming::nova-3", "dollars": Decimal("2")},
                {
                    "date": D2,
                    "result": {
                        "amount_usd": 2,
                        "grouping": {"start": "2026-09-02", "line_item": "streaming::nova-3"},
                    },
                },
            ],
        )
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D2))
    assert results[0].ok and total_cost(results[0].records) == Decimal("2")
    assert isinstance(results[1].error, UnexpectedShape) and results[1].error.day == D2


def test_bad_projects_listing_fails_every_day(http: Any, clock: Any) -> None:
    with FakeDeepgram() as fake:
        fake.serve_raw("/projects", {"items": []})
        results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D2))
    assert all(isinstance(r.error, UnexpectedShape) for r in results)


@pytest.mark.parametrize("end_inclusive", [True, False], ids=["end-inclusive", "end-exclusive"])
def test_days_are_right_whether_end_is_inclusive_or_not(http: Any, clock: Any, end_inclusive: bool) -> None:
    """Deepgram's reference does not say whether `end` is inclusive: the fake serves either reading,
    and each day must get exactly its own usage under both (start=end=day is empty if exclusive)."""
    with FakeDeepgram(end_inclusive=end_inclusive) as fake:
        fake.load_billing(
            "project-1",
            [
                {"date": d, "line_item": "streaming::nova-3", "dollars": Decimal(n)}
                for n, d in enumerate((D1, D2, D3), 1)
            ],
        )
        fake.load_usage(
            "project-1", [{"date": d, "models": ["nova-3"], "requests": 10} for d in (D1, D2, D3)]
        )
        one_day = list(connector(fake, http, clock).fetch(fake.api_key, D2, D2))
        two_days = list(connector(fake, http, clock).fetch(fake.api_key, D1, D2))
    [d2] = one_day
    assert total_cost(d2.records) == Decimal(2) and d2.records[0].units == {"requests": 10}
    assert [total_cost(r.records) for r in two_days] == [Decimal(1), Decimal(2)]  # D3 is not counted
    assert all(r.records[0].units == {"requests": 10} for r in two_days)


def test_a_row_without_its_day_or_over_several_days_fails_the_window(http: Any, clock: Any) -> None:
    for grouping in ({"line_item": "streaming::nova-3"}, {"start": "2026-09-01", "end": "2026-09-08"}):
        with FakeDeepgram() as fake:
            fake.load_billing("project-1", [{"date": D1, "result": {"dollars": 1, "grouping": grouping}}])
            results = list(connector(fake, http, clock).fetch(fake.api_key, D1, D2))
        assert [r.day for r in results] == [D1, D2]
        assert all(isinstance(r.error, UnexpectedShape) for r in results)  # never guessed onto a day


def test_the_fake_refuses_malformed_dates(http: Any, clock: Any) -> None:
    with FakeDeepgram() as fake:
        status = http._session.get(
            fake.url + "/v1/projects/project-1/usage/breakdown",
            params={"start": "2026-9-1", "end": "2026-09-02"},
            headers={"Authorization": f"Token {fake.api_key}"},
            timeout=5,
        ).status_code
    assert status == 400
