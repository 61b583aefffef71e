"""AWS Bedrock through Cost Explorer: the real botocore client (SigV4, JSON 1.1) against the fake."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from svccommon import platforms
from testkit.fakes import CostRow, FakeCostExplorer
from usage.connectors import InvalidCredential, ProviderUnavailable, connector_for
from usage.connectors.aws_bedrock import AwsBedrockConnector, model_from_usage_type, token_unit
from usage.records import UNATTRIBUTED_MODEL, total_cost

from .conftest import NOW

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)

BILL = [
    CostRow(
        D1, "USE1-Claude3Haiku-input-tokens", Decimal("0.0125000000"), Decimal("50000"), "Claude 3 Haiku"
    ),
    CostRow(
        D1, "USE1-Claude3Haiku-output-tokens", Decimal("0.0312500000"), Decimal("25000"), "Claude 3 Haiku"
    ),
    CostRow(D2, "USE1-Llama3-70b-input-tokens", Decimal("1.0000000001"), Decimal("375940"), None),
    CostRow(
        D2, "USE1-Claude3Haiku-cache-read-input-tokens", Decimal("0.0003"), Decimal("10000"), "Claude 3 Haiku"
    ),
    CostRow(D3, "USE1-ProvisionedThroughput-ModelUnits", Decimal("21.18"), Decimal("1"), None),
    # Not Bedrock: grouping by the model product attribute leaves it out.
    CostRow(
        D2, "USE1-BoxUsage:t3.micro", Decimal("99.99"), Decimal("24"), None, "Amazon Elastic Compute Cloud"
    ),
]


def key_of(fake: FakeCostExplorer) -> str:
    return platforms.validate_fields("aws_bedrock", fake.fields)


def connector(fake: FakeCostExplorer, http: Any, clock: Any) -> AwsBedrockConnector:
    return AwsBedrockConnector(http=http, base_url=fake.url, clock=clock)


def test_one_signed_request_gives_exact_daily_costs_units_and_models(http: Any, clock: Any) -> None:
    with FakeCostExplorer() as fake:
        fake.load(BILL)
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.cost_requests()) == 1  # Cost Explorer charges per request
        sent = fake.payloads[0]
        assert sent["TimePeriod"] == {"Start": "2026-09-01", "End": "2026-09-04"}  # End exclusive
        assert sent["Granularity"] == "DAILY" and sent["Metrics"] == ["UnblendedCost", "UsageQuantity"]
        assert sent["GroupBy"] == [
            {"Type": "PRODUCT_ATTRIBUTE", "Key": "model"},
            {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
        ]
        auth = fake.cost_requests()[0].headers["authorization"]
        assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={fake.api_key}/")
        assert fake.secret not in json.dumps([r.headers for r in fake.requests])
    assert [r.day for r in results] == [D1, D2, D3] and all(r.ok for r in results)
    by_day = {r.day: {rec.model: rec for rec in r.records} for r in results}
    haiku = by_day[D1]["Claude 3 Haiku"]
    assert haiku.cost_usd == Decimal("0.0437500000")
    assert haiku.units == {"input_uncached_tokens": 50000, "output_tokens": 25000}
    assert by_day[D2]["Llama3-70b"].cost_usd == Decimal("1.0000000001")  # from the usage type
    assert by_day[D2]["Claude 3 Haiku"].units == {"cache_read_tokens": 10000}
    assert by_day[D3][UNATTRIBUTED_MODEL].cost_usd == Decimal("21.18")
    assert by_day[D3][UNATTRIBUTED_MODEL].units == {}
    total = sum((total_cost(r.records) for r in results), Decimal(0))
    assert total == Decimal("22.2240500001")  # EC2 is not Bedrock


def test_pages_follow_next_page_token(http: Any, clock: Any) -> None:
    with FakeCostExplorer() as fake:
        fake.load(BILL)
        fake.page_size = 1
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.cost_requests()) == 3
        assert "NextPageToken" not in fake.payloads[0] and fake.payloads[1]["NextPageToken"]
    assert sum((total_cost(r.records) for r in results), Decimal(0)) == Decimal("22.2240500001")


@pytest.mark.parametrize("wrong", ["secret", "key_id"])
def test_wrong_secret_or_unknown_key_is_an_invalid_credential(http: Any, clock: Any, wrong: str) -> None:
    with FakeCostExplorer() as fake:
        fake.load(BILL)
        fields = dict(fake.fields)
        if wrong == "secret":
            fields["secret_access_key"] = "x" * 40
        else:
            fields["access_key_id"] = "AKIA" + "Z" * 16
        with pytest.raises(InvalidCredential) as caught:
            list(connector(fake, http, clock).fetch(platforms.validate_fields("aws_bedrock", fields), D1, D3))
        assert len(fake.cost_requests()) == 1  # not retried
    expected = "InvalidSignatureException" if wrong == "secret" else "UnrecognizedClientException"
    assert caught.value.provider_detail.startswith(expected)
    assert "ce:GetCostAndUsage" in caught.value.message_for_user
    assert "x" * 40 not in str(caught.value.__dict__)


def test_throttled_then_success_backs_off(http: Any, clock: Any, sleeps: Any) -> None:
    with FakeCostExplorer() as fake:
        fake.load(BILL)
        fake.throttle(times=2)
        results = list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.cost_requests()) == 3
    assert sleeps.calls == [1.0, 2.0]
    assert sum((total_cost(r.records) for r in results), Decimal(0)) == Decimal("22.2240500001")


def test_unavailable_throughout_gives_up_after_bounded_retries(http: Any, clock: Any) -> None:
    with FakeCostExplorer() as fake:
        fake.fail(500, times=None, body={"__type": "InternalFailure", "message": "boom"})
        with pytest.raises(ProviderUnavailable):
            list(connector(fake, http, clock).fetch(key_of(fake), D1, D3))
        assert len(fake.cost_requests()) == http.max_attempts


def test_a_year_is_one_request_and_recent_days_are_provisional(http: Any, clock: Any) -> None:
    today = NOW.date()
    with FakeCostExplorer() as fake:
        fake.load([CostRow(today - timedelta(days=1), "USE1-Claude3Haiku-input-tokens", Decimal("2.5"))])
        fake.page_size = 400  # the API pages by the size of its answer: a small bill fits one
        results = list(connector(fake, http, clock).fetch(key_of(fake), today - timedelta(days=364), today))
        assert len(fake.cost_requests()) == 1
    assert len(results) == 365 and results[-1].day == today
    assert results[-2].provisional and not results[0].provisional
    assert sum((total_cost(r.records) for r in results), Decimal(0)) == Decimal("2.5")


def test_base_url_comes_from_the_environment(http: Any, clock: Any) -> None:
    with FakeCostExplorer() as fake:
        fake.load(BILL)
        env = {"PROVIDER_BASE_URL_AWS_BEDROCK": fake.url + "/"}
        results = list(
            connector_for("aws_bedrock", http=http, env=env, clock=clock).fetch(key_of(fake), D1, D1)
        )
        assert len(fake.cost_requests()) == 1
    assert total_cost(results[0].records) == Decimal("0.0437500000")


def test_the_fake_refuses_unsigned_and_invalid_requests() -> None:
    import botocore.session
    from botocore.exceptions import ClientError

    with FakeCostExplorer() as fake:
        headers = {
            "X-Amz-Target": "AWSInsightsIndexService.GetCostAndUsage",
            "Content-Type": "application/x-amz-json-1.1",
        }
        unsigned = requests.post(fake.url + "/", data="{}", headers=headers, timeout=5)
        assert unsigned.status_code == 400
        assert unsigned.json()["__type"] == "MissingAuthenticationTokenException"
        client = botocore.session.Session().create_client(
            "ce",
            region_name="us-east-1",
            endpoint_url=fake.url,
            aws_access_key_id=fake.api_key,
            aws_secret_access_key=fake.secret,
        )
        with pytest.raises(ClientError) as caught:
            client.get_cost_and_usage(
                TimePeriod={"Start": "2026-09-03", "End": "2026-09-01"},
                Granularity="DAILY",
                Metrics=["UnblendedCost"],
            )
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        # The raw protocol: a body without the required Metrics is refused by the fake itself.
        missing = fake.get_cost_and_usage.__func__  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="Metrics is required"):
            missing(
                fake, {"TimePeriod": {"Start": "2026-09-01", "End": "2026-09-02"}, "Granularity": "DAILY"}
            )


def test_usage_type_names() -> None:
    assert token_unit("USE1-Claude3Haiku-input-tokens") == "input_uncached_tokens"
    assert token_unit("EUC1-Claude3Haiku-cache-write-input-tokens") == "cache_write_tokens"
    assert token_unit("USE1-ProvisionedThroughput-ModelUnits") is None
    assert model_from_usage_type("APN1-Mistral-Large-output-tokens") == "Mistral-Large"
    assert model_from_usage_type("USE1-ProvisionedThroughput-ModelUnits") is None
