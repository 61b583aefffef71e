"""Azure OpenAI through the Cost Management Query API: the client-credentials token and the
columnar Query answer, against the fake written from Microsoft's REST reference."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from svccommon import platforms
from testkit.fakes import AzureCostRow, FakeAzureCostManagement
from usage.connectors import InvalidCredential, ProviderUnavailable, connector_for
from usage.connectors.azure_openai import AzureOpenAIConnector, meter_tokens, scope_path
from usage.records import UNATTRIBUTED_MODEL, total_cost

from .conftest import NOW

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)

BILL = [
    AzureCostRow(D1, "gpt-4o-mini-0718-Inp-glbl Tokens", Decimal("0.024068"), Decimal("160.453")),
    AzureCostRow(D1, "gpt-4o-mini-0718-Outp-glbl Tokens", Decimal("0.056312"), Decimal("93.853")),
    AzureCostRow(D2, "gpt 4.1 Inp regnl Tokens", Decimal("1.0000000001"), Decimal("500"), resource="aoai-eu"),
    AzureCostRow(D2, "5.4 mini cd Inp Gl 1M Tokens", Decimal("0.0003"), Decimal("0.012")),
    AzureCostRow(D3, "Provisioned Managed Global Units", Decimal("21.18"), Decimal("1")),
    # Not Azure OpenAI: the ServiceName filter leaves it out.
    AzureCostRow(D2, "D2s v3", Decimal("99.99"), Decimal("24"), service="Virtual Machines"),
]
EXPECTED = Decimal("22.2606800001")


def key_of(fake: FakeAzureCostManagement, **change: str) -> str:
    return platforms.validate_fields("azure_openai", {**fake.fields, **change})


def connector(fake: FakeAzureCostManagement, http: Any, clock: Any) -> AzureOpenAIConnector:
    return AzureOpenAIConnector(http=http, base_url=fake.url, auth_url=fake.url, clock=clock)


def total(results: Any) -> Decimal:
    return sum((total_cost(r.records) for r in results), Decimal(0))


def test_one_token_and_one_query_give_exact_daily_costs_units_and_models(http: Any, clock: Any) -> None:
    with FakeAzureCostManagement() as fake:
        fake.load(BILL)
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.token_requests()) == 1 and len(fake.query_requests()) == 1
        sent = fake.payloads[0]
        assert sent["type"] == "ActualCost" and sent["timeframe"] == "Custom"
        assert sent["timePeriod"] == {"from": "2026-09-01T00:00:00Z", "to": "2026-09-03T23:59:59Z"}
        assert sent["dataset"]["granularity"] == "Daily"
        assert [g["name"] for g in sent["dataset"]["grouping"]] == ["Meter", "ResourceId"]
        query = fake.query_requests()[0]
        assert query.path == f"/subscriptions/{fake.subscription}/providers/Microsoft.CostManagement/query"
        assert query.param("api-version") == "2025-03-01"
        assert query.headers["authorization"].startswith("Bearer ")
        assert fake.secret not in json.dumps([r.headers for r in fake.requests])
    assert [r.day for r in results] == [D1, D2, D3] and all(r.ok for r in results)
    by_day = {r.day: {rec.model: rec for rec in r.records} for r in results}
    mini = by_day[D1]["gpt-4o-mini-0718"]
    assert mini.cost_usd == Decimal("0.080380")
    assert mini.units == {"input_uncached_tokens": 160453, "output_tokens": 93853}
    assert mini.project_id.endswith("/microsoft.cognitiveservices/accounts/aoai-main")
    assert by_day[D2]["gpt-4.1"].units == {"input_uncached_tokens": 500000}
    assert by_day[D2]["gpt-4.1"].cost_usd == Decimal("1.0000000001")
    assert by_day[D2]["gpt-5.4-mini"].units == {"cache_read_tokens": 12000}  # a 1M-token meter
    assert by_day[D3][UNATTRIBUTED_MODEL].cost_usd == Decimal("21.18")
    assert by_day[D3][UNATTRIBUTED_MODEL].units == {}
    assert total(results) == EXPECTED == fake.total()


def test_pages_follow_next_link_with_the_same_token(http: Any, clock: Any) -> None:
    with FakeAzureCostManagement() as fake:
        fake.load(BILL)
        fake.page_size = 2
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        queries = fake.query_requests()
        assert len(queries) == 3 and len(fake.token_requests()) == 1  # the token is reused
        assert queries[0].param("$skiptoken") is None and queries[1].param("$skiptoken")
    assert total(results) == EXPECTED


def test_a_long_backfill_is_asked_28_days_at_a_time(http: Any, clock: Any) -> None:
    today = NOW.date()
    with FakeAzureCostManagement() as fake:
        old = today - timedelta(days=80)
        fake.load([AzureCostRow(old, "gpt-4o-0806-Inp-glbl Tokens", Decimal("2.5"), Decimal("1000"))])
        fake.load([AzureCostRow(today - timedelta(days=1), "gpt-4o-0806-Outp-glbl Tokens", Decimal("1.25"))])
        results = list(connector(fake, http, clock).fetch(key_of(fake), today - timedelta(days=89), today))
        assert len(fake.query_requests()) == 4 and len(fake.token_requests()) == 1
        spans = [(p["timePeriod"]["from"][:10], p["timePeriod"]["to"][:10]) for p in fake.payloads]
        assert all((date.fromisoformat(b) - date.fromisoformat(a)).days < 28 for a, b in spans)
    assert len(results) == 90 and results[-1].day == today
    assert results[-2].provisional and not results[0].provisional
    # The fake cuts a Daily range to its last month, as the API does: a wider window would lose days.
    assert total(results) == Decimal("3.75")


@pytest.mark.parametrize(
    ("wrong", "detail"),
    [
        ("client_secret", "invalid_client: AADSTS7000215"),
        ("client_id", "unauthorized_client: AADSTS700016"),
        ("tenant_id", "invalid_request: AADSTS90002"),
    ],
)
def test_a_wrong_field_is_an_invalid_credential(http: Any, clock: Any, wrong: str, detail: str) -> None:
    values = {
        "client_secret": "Wrong~Secret.Value_1234567890",
        "client_id": "00000000-0000-0000-0000-00000000dead",
        "tenant_id": "00000000-0000-0000-0000-00000000beef",
    }
    with FakeAzureCostManagement() as fake:
        fake.load(BILL)
        with pytest.raises(InvalidCredential) as caught:
            list(connector(fake, http, clock).fetch(key_of(fake, **{wrong: values[wrong]}), D1, D3))
        assert len(fake.requests) == 1 and not fake.query_requests()  # not retried
    assert caught.value.provider_detail.startswith(detail)
    assert "Cost Management Reader" in caught.value.message_for_user
    assert values["client_secret"] not in str(caught.value.__dict__)


def test_no_role_on_the_scope_or_an_unknown_subscription_is_an_invalid_credential(
    http: Any, clock: Any
) -> None:
    with FakeAzureCostManagement() as fake:
        fake.role = False
        with pytest.raises(InvalidCredential) as caught:
            list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert caught.value.status == 403 and "authorization" in caught.value.provider_detail
        fake.role = True
        other = "12345678-1234-1234-1234-123456789012"
        with pytest.raises(InvalidCredential) as caught:
            list(connector(fake, http, clock).fetch(key_of(fake, scope=other), D1, D3))
        assert caught.value.status == 404


def test_resource_group_scope_reads_only_that_group(http: Any, clock: Any) -> None:
    with FakeAzureCostManagement() as fake:
        fake.load(BILL)
        fake.load(
            [
                AzureCostRow(
                    D1,
                    "gpt-4o-0806-Inp-glbl Tokens",
                    Decimal("5"),
                    Decimal("2000"),
                    resource_group="rg-other",
                )
            ]
        )
        scope = f"/subscriptions/{fake.subscription}/resourceGroups/rg-other"
        results = list(connector(fake, http, clock).fetch(key_of(fake, scope=scope), D1, D3))
        assert fake.query_requests()[0].path == scope.lower().replace("resourcegroups", "resourceGroups") + (
            "/providers/Microsoft.CostManagement/query"
        )
    assert total(results) == Decimal("5")


def test_throttled_then_success_waits_the_cost_management_retry_after(
    http: Any, clock: Any, sleeps: Any
) -> None:
    with FakeAzureCostManagement() as fake:
        fake.load(BILL)
        fake.throttle(times=2, seconds="7")
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
    # The first throttled call is the token request (the failure hits whichever call comes next).
    assert sleeps.calls == [7.0, 7.0]
    assert total(results) == EXPECTED


def test_unavailable_throughout_gives_up_after_bounded_retries(http: Any, clock: Any, sleeps: Any) -> None:
    with FakeAzureCostManagement() as fake:
        fake.unavailable()
        with pytest.raises(ProviderUnavailable, match="HTTP 503"):
            list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.requests) == http.max_attempts
    assert sleeps.calls == [1.0, 2.0]


def test_a_day_in_another_currency_fails_clearly(http: Any, clock: Any) -> None:
    with FakeAzureCostManagement() as fake:
        fake.load(BILL + [AzureCostRow(D3, "gpt-4o-0806-Inp-glbl Tokens", Decimal("3"), currency="EUR")])
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
    by_day = {r.day: r for r in results}
    assert by_day[D1].ok and by_day[D2].ok
    assert not by_day[D3].ok and "EUR" in str(by_day[D3].error)


def test_an_expired_token_is_renewed_once(http: Any, clock: Any) -> None:
    with FakeAzureCostManagement() as fake:
        fake.load(BILL)
        fake.page_size = 2
        c = connector(fake, http, clock)
        key = key_of(fake)
        list(c.fetch(key, D1, D1))
        fake._tokens.clear()  # every issued token is now unknown (expired)
        results = list(c.fetch(key, D1, D3))
        assert len(fake.token_requests()) == 2
    assert total(results) == EXPECTED


def test_base_and_auth_urls_come_from_the_environment(http: Any, clock: Any) -> None:
    with FakeAzureCostManagement() as fake:
        fake.load(BILL)
        env = {"PROVIDER_BASE_URL_AZURE_OPENAI": fake.url + "/", "PROVIDER_AUTH_URL_AZURE_OPENAI": fake.url}
        results = list(
            connector_for("azure_openai", http=http, env=env, clock=clock).fetch(key_of(fake), D1, D1)
        )
        assert len(fake.query_requests()) == 1
    assert total(results) == Decimal("0.080380")


def test_the_fake_refuses_what_the_reference_refuses() -> None:
    with FakeAzureCostManagement() as fake:
        url = f"{fake.url}/subscriptions/{fake.subscription}/providers/Microsoft.CostManagement/query"
        anonymous = requests.post(url + "?api-version=2025-03-01", json={}, timeout=5)
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "AuthenticationFailed"
        form = {
            "grant_type": "client_credentials",
            "client_id": fake.api_key,
            "client_secret": fake.secret,
            "scope": "https://management.azure.com/.default",
        }
        token = requests.post(f"{fake.url}/{fake.tenant_id}/oauth2/v2.0/token", data=form, timeout=5).json()
        assert token["token_type"] == "Bearer" and token["expires_in"] == 3599
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        no_version = requests.post(url, json={}, headers=bearer, timeout=5)
        assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"
        missing = requests.post(
            url + "?api-version=2025-03-01", json={"type": "ActualCost"}, headers=bearer, timeout=5
        )
        assert missing.status_code == 400 and "timeframe" in missing.json()["error"]["message"]
        three = {
            "type": "ActualCost",
            "timeframe": "Custom",
            "timePeriod": {"from": "2026-09-01T00:00:00Z", "to": "2026-09-02T00:00:00Z"},
            "dataset": {
                "grouping": [{"type": "Dimension", "name": n} for n in ("Meter", "ResourceId", "ServiceName")]
            },
        }
        assert (
            requests.post(url + "?api-version=2025-03-01", json=three, headers=bearer, timeout=5).status_code
            == 400
        )
        bad_scope = requests.post(
            f"{fake.url}/{fake.tenant_id}/oauth2/v2.0/token", data={**form, "scope": "openid"}, timeout=5
        )
        assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"


def test_meter_names_and_scopes() -> None:
    assert meter_tokens("gpt-4o-mini-0718-Batch-Inp-glbl Tokens") == (
        "gpt-4o-mini-0718",
        "input_uncached_tokens",
        1000,
    )
    assert meter_tokens("gpt-4o-0806-Outp-regnl Tokens") == ("gpt-4o-0806", "output_tokens", 1000)
    assert meter_tokens("codex mini inp cchd glbl Tokens") == ("codex-mini", "cache_read_tokens", 1000)
    assert meter_tokens("5.6 sol ShortCo Cd Wr Std Gl 1M Tokens") == (
        "gpt-5.6-sol",
        "cache_write_tokens",
        1_000_000,
    )
    assert meter_tokens("5.4 inp Gl 1M Tokens") == ("gpt-5.4", "input_uncached_tokens", 1_000_000)
    assert meter_tokens("Provisioned Managed Global Units") == (None, None, 0)
    sub = "99999999-8888-7777-6666-555555555555"
    assert scope_path(sub) == f"/subscriptions/{sub}"
    assert scope_path(f"/subscriptions/{sub}/") == f"/subscriptions/{sub}"
    assert (
        scope_path(f"/subscriptions/{sub}/resourceGroups/rg-ai")
        == f"/subscriptions/{sub}/resourceGroups/rg-ai"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tenant_id", "contoso.onmicrosoft.com"),
        ("client_id", "not-a-guid"),
        ("client_secret", "short"),
        ("scope", "/providers/Microsoft.Billing/billingAccounts/1234"),
    ],
)
def test_catalog_checks_field_shapes(field: str, value: str) -> None:
    fields = FakeAzureCostManagement().fields
    with pytest.raises(platforms.InvalidKey) as caught:
        platforms.validate_fields("azure_openai", {**fields, field: value})
    assert caught.value.field == f"fields.{field}"
    assert (
        platforms.credential_last4("azure_openai", platforms.validate_fields("azure_openai", fields))
        == (fields["client_id"][-4:])
    )


def test_no_day_is_lost_to_the_monthly_cut_of_a_daily_range(http: Any) -> None:
    # The API cuts a Daily range to "to - 1 month + 1 day": a 31-day window ending March 30 would
    # silently lose February 27 and 28. Windows of 28 days never lose a day.
    first, last = date(2026, 1, 25), date(2026, 4, 5)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    with FakeAzureCostManagement() as fake:
        fake.load([AzureCostRow(d, "gpt-4o-0806-Inp-glbl Tokens", Decimal("1"), Decimal("1")) for d in days])
        c = AzureOpenAIConnector(
            http=http, base_url=fake.url, auth_url=fake.url, clock=lambda: NOW.replace(year=2026, month=5)
        )
        results = list(c.fetch(key_of(fake), first, last))
    assert all(r.ok for r in results) and total(results) == len(days)
