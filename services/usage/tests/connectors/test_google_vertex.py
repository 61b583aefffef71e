"""Google Vertex AI / Gemini API through the Cloud Billing export: the real google-auth and
google-cloud-bigquery clients (JWT-bearer grant, jobs.query, getQueryResults pages) against the fake."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from svccommon import platforms
from testkit.fakes.google_bigquery import BillingRow, FakeBigQuery, at, other_private_key
from usage.connectors import InvalidCredential, ProviderUnavailable, connector_for
from usage.connectors.google_vertex import SERVICES, GoogleVertexConnector, model_from_sku, unit_for
from usage.records import UNATTRIBUTED_MODEL, total_cost

from .conftest import NOW

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)

BILL = [
    # Two hourly rows of one SKU on D1 add up; the free-tier credit is negative.
    BillingRow(
        at(D1, 1), "Vertex AI", "Gemini 2.5 Pro Input Text Tokens", Decimal("0.125"), Decimal("100000")
    ),
    BillingRow(
        at(D1, 9), "Vertex AI", "Gemini 2.5 Pro Input Text Tokens", Decimal("0.0625"), Decimal("50000")
    ),
    BillingRow(
        at(D1, 9),
        "Vertex AI",
        "Gemini 2.5 Pro Output Text Tokens",
        Decimal("1.5"),
        Decimal("150000"),
        credits=(Decimal("-0.25"),),
    ),
    BillingRow(at(D2, 23), "Gemini API", "Gemini 2.5 Flash Input Tokens", Decimal("0.000003"), Decimal("10")),
    BillingRow(
        at(D2, 23), "Gemini API", "Gemini 2.5 Flash Cached Input Tokens", Decimal("0.01"), Decimal("4000")
    ),
    BillingRow(
        at(D3, 0),
        "Vertex AI",
        "Online prediction node hours n1-standard-4",
        Decimal("0.19"),
        Decimal("1"),
        "hour",
    ),
    # Not generative AI: the query's @services leave it out.
    BillingRow(
        at(D2, 5),
        "Compute Engine",
        "N1 Predefined Instance Core",
        Decimal("99.99"),
        Decimal("3600"),
        "seconds",
    ),
    # Outside the window (the day after D3).
    BillingRow(
        at(D3 + timedelta(days=1), 0),
        "Vertex AI",
        "Gemini 2.5 Pro Input Text Tokens",
        Decimal("7"),
        Decimal("1"),
    ),
]
WINDOW_TOTAL = Decimal("0.125") + Decimal("0.0625") + Decimal("1.25") + Decimal("0.010003") + Decimal("0.19")


def key_of(fake: FakeBigQuery, **changes: str) -> str:
    return platforms.validate_fields("google", {**fake.fields, **changes})


def connector(fake: FakeBigQuery, http: Any, clock: Any) -> GoogleVertexConnector:
    env = {"PROVIDER_TOKEN_URI_GOOGLE": fake.token_url}
    return GoogleVertexConnector(http=http, base_url=fake.url, clock=clock, env=env)


def test_one_query_gives_exact_daily_costs_units_and_models(http: Any, clock: Any) -> None:
    with FakeBigQuery() as fake:
        fake.load(BILL)
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.query_requests()) == 1 and len(fake.token_requests()) == 1
        sent = fake.query_bodies[0]
        assert f"FROM `{fake.table}`" in sent["query"] and sent["useLegacySql"] is False
        params = {p["name"]: p for p in sent["queryParameters"]}
        assert params["start"]["parameterValue"]["value"].startswith("2026-09-01 00:00:00")
        assert params["end"]["parameterValue"]["value"].startswith("2026-09-04 00:00:00")  # exclusive
        assert [v["value"] for v in params["services"]["parameterValue"]["arrayValues"]] == list(SERVICES)
        seen = json.dumps([r.headers for r in fake.requests])
        assert "PRIVATE KEY" not in seen and fake.query_requests()[0].headers["authorization"].startswith(
            "Bearer ya29."
        )
    assert [r.day for r in results] == [D1, D2, D3] and all(r.ok for r in results)
    by_day = {r.day: {rec.model: rec for rec in r.records} for r in results}
    pro = by_day[D1]["gemini-2.5-pro"]
    assert pro.cost_usd == Decimal("1.4375")  # 0.125 + 0.0625 + 1.5 - 0.25 (credit)
    assert pro.units == {"input_uncached_tokens": 150000, "output_tokens": 150000}
    flash = by_day[D2]["gemini-2.5-flash"]
    assert flash.cost_usd == Decimal("0.010003")
    assert flash.units == {"input_uncached_tokens": 10, "cache_read_tokens": 4000}
    assert (
        by_day[D3][UNATTRIBUTED_MODEL].cost_usd == Decimal("0.19")
        and by_day[D3][UNATTRIBUTED_MODEL].units == {}
    )
    total = sum((total_cost(r.records) for r in results), Decimal(0))
    assert total == WINDOW_TOTAL == Decimal("1.637503")


def test_pages_follow_the_page_token(http: Any, clock: Any) -> None:
    with FakeBigQuery() as fake:
        fake.load(BILL)
        fake.page_size = 2
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.query_requests()) == 1  # one query; the rest are result pages
        pages = [r for r in fake.requests if r.method == "GET" and "/queries/" in r.path]
        assert [p.param("pageToken") is not None for p in pages if p.param("maxResults") != "0"][-2:] == [
            True,
            True,
        ]
    assert sum((total_cost(r.records) for r in results), Decimal(0)) == WINDOW_TOTAL


@pytest.mark.parametrize("wrong", ["private_key", "table", "job_user"])
def test_a_wrong_key_table_or_role_is_an_invalid_credential(http: Any, clock: Any, wrong: str) -> None:
    with FakeBigQuery() as fake:
        fake.load(BILL)
        changes: dict[str, str] = {}
        if wrong == "private_key":
            changes["service_account_json"] = json.dumps(fake.service_account(other_private_key()))
        elif wrong == "table":
            changes["billing_table"] = fake.table + "x"
        else:
            fake.revoke_job_user()
        with pytest.raises(InvalidCredential) as caught:
            list(connector(fake, http, clock).fetch(key_of(fake, **changes), D1, D3))
        assert len(fake.query_requests()) == (0 if wrong == "private_key" else 1)  # not retried
        assert len(fake.token_requests()) == 1
    detail = caught.value.provider_detail
    expected = {"private_key": "Invalid JWT Signature", "table": "notFound", "job_user": "accessDenied"}[
        wrong
    ]
    assert expected in detail
    assert "BigQuery Job User" in caught.value.message_for_user
    assert "PRIVATE KEY" not in str(caught.value.__dict__)


def test_a_token_uri_that_is_not_googles_is_refused_before_any_request(http: Any, clock: Any) -> None:
    with FakeBigQuery() as fake:
        key = key_of(fake)
        with pytest.raises(InvalidCredential, match="token_uri"):
            list(GoogleVertexConnector(http=http, base_url=fake.url, clock=clock, env={}).fetch(key, D1, D1))
        assert fake.requests == []


def test_rate_limited_then_success_backs_off(http: Any, clock: Any, sleeps: Any) -> None:
    with FakeBigQuery() as fake:
        fake.load(BILL)
        fake.fail(403, times=2, body={"reason": "rateLimitExceeded"})
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.query_requests()) == 3
    assert sleeps.calls == [1.0, 2.0]
    assert sum((total_cost(r.records) for r in results), Decimal(0)) == WINDOW_TOTAL


def test_unavailable_throughout_gives_up_after_bounded_retries(http: Any, clock: Any) -> None:
    with FakeBigQuery() as fake:
        fake.fail(503, times=None, body={"reason": "backendError"})
        with pytest.raises(ProviderUnavailable):
            list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.query_requests()) == http.max_attempts


def test_a_non_usd_billing_account_fails_its_days_clearly(http: Any, clock: Any) -> None:
    with FakeBigQuery() as fake:
        fake.load(
            [
                BillingRow(
                    at(D1), "Vertex AI", "Gemini 2.5 Pro Input Text Tokens", Decimal("1"), currency="EUR"
                )
            ]
        )
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D2))
    assert not results[0].ok and "USD only" in str(results[0].error)
    assert results[1].ok and results[1].records == ()


def test_a_year_is_one_query_and_recent_days_are_provisional(http: Any, clock: Any) -> None:
    today = NOW.date()
    with FakeBigQuery() as fake:
        fake.load(
            [
                BillingRow(
                    at(today - timedelta(days=1)),
                    "Gemini API",
                    "Gemini 2.0 Flash Output Tokens",
                    Decimal("2.5"),
                    Decimal("9"),
                )
            ]
        )
        results = list(connector(fake, http, clock).fetch(key_of(fake), today - timedelta(days=364), today))
        assert len(fake.query_requests()) == 1
    assert len(results) == 365 and results[-1].day == today
    assert results[-2].provisional and not results[0].provisional
    assert sum((total_cost(r.records) for r in results), Decimal(0)) == Decimal("2.5")


def test_base_url_and_billing_project_come_from_the_environment_and_fields(http: Any, clock: Any) -> None:
    with FakeBigQuery() as fake:
        fake.load(BILL)
        fake.account.job_user_projects.add("query-runner-1")
        env = {"PROVIDER_BASE_URL_GOOGLE": fake.url + "/", "PROVIDER_TOKEN_URI_GOOGLE": fake.token_url}
        key = key_of(fake, billing_project="query-runner-1")
        results = list(connector_for("google", http=http, env=env, clock=clock).fetch(key, D1, D1))
        assert [r.path for r in fake.query_requests()] == ["/bigquery/v2/projects/query-runner-1/queries"]
    assert total_cost(results[0].records) == Decimal("1.4375")


def test_the_fake_refuses_bad_tokens_and_queries() -> None:
    with FakeBigQuery() as fake:
        path = f"{fake.url}/bigquery/v2/projects/{fake.project}/queries"
        unsigned = requests.post(path, json={"query": "SELECT 1"}, timeout=5)
        assert unsigned.status_code == 401 and unsigned.json()["error"]["status"] == "UNAUTHENTICATED"
        grant = requests.post(
            fake.token_url,
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "a.b.c"},
            timeout=5,
        )
        assert grant.status_code == 400 and grant.json()["error"] == "invalid_grant"
        from google.cloud import bigquery
        from google.oauth2 import service_account

        credentials = service_account.Credentials.from_service_account_info(
            fake.service_account(), scopes=["https://www.googleapis.com/auth/bigquery.readonly"]
        )
        client = bigquery.Client(
            project=fake.project, credentials=credentials, client_options={"api_endpoint": fake.url}
        )
        from google.api_core.exceptions import BadRequest

        with pytest.raises(BadRequest, match="billing query"):
            client.query_and_wait(f"SELECT * FROM `{fake.table}`", retry=None, job_retry=None)  # noqa: S608


def test_sku_names() -> None:
    assert model_from_sku("Gemini 2.5 Flash-Lite Input Text Tokens") == "gemini-2.5-flash-lite"
    assert (
        model_from_sku("Generate content input token count Gemini 2.5 Pro short input text")
        == "gemini-2.5-pro"
    )
    assert model_from_sku("Imagen 4 Image Generation") == "imagen-4"
    assert model_from_sku("Online prediction node hours n1-standard-4") is None
    assert unit_for("Gemini 2.5 Pro Output Text Tokens", "count") == "output_tokens"
    assert unit_for("Gemini 2.5 Pro Cached Input Tokens", "count") == "cache_read_tokens"
    assert unit_for("Gemini 2.5 Pro Context Cache Storage", "hour") is None
    assert unit_for("Veo 3 Video Generation", "seconds") == "seconds"


def test_catalog_fields_and_last4() -> None:
    with FakeBigQuery() as fake:
        secret = key_of(fake)
        assert platforms.credential_last4("google", secret) == fake.account.key_id[-4:]
        assert fake.account.private_pem[-30:] not in platforms.credential_last4("google", secret)
        for changes, field in (
            ({"service_account_json": '{"type": "authorized_user"}'}, "fields.service_account_json"),
            ({"service_account_json": "not json"}, "fields.service_account_json"),
            ({"billing_table": "my-project.dataset"}, "fields.billing_table"),
            ({"billing_table": "my-project.d.t`; DROP"}, "fields.billing_table"),
            ({"billing_project": "Bad_Project"}, "fields.billing_project"),
        ):
            with pytest.raises(platforms.InvalidKey) as caught:
                platforms.validate_fields("google", {**fake.fields, **changes})
            assert caught.value.field == field
            assert "PRIVATE KEY" not in caught.value.message
        assert "billing_project" not in json.loads(
            platforms.validate_fields("google", {**fake.fields, "billing_project": ""})
        )
