"""AWS Bedrock through the gateway and the real stack: an IAM access key sent as `fields`, stored
by keyvault as one secret, a sync signed with SigV4 against the fake Cost Explorer, and the
summary equal to the fake's bill to the cent. A wrong secret shows as an invalid key; neither
secret value appears in any API response or in the stack's log."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from support.accounts import new_account
from support.cloud_flow import CloudFlow
from testkit.fakes import CostRow

TODAY = dt.datetime.now(dt.UTC).date()


def day(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


BILL = [
    CostRow(
        day(9), "USE1-Claude3Haiku-input-tokens", Decimal("0.0125000000"), Decimal("50000"), "Claude 3 Haiku"
    ),
    CostRow(
        day(9), "USE1-Claude3Haiku-output-tokens", Decimal("0.0312500000"), Decimal("25000"), "Claude 3 Haiku"
    ),
    CostRow(day(4), "USE1-Llama3-70b-input-tokens", Decimal("1.0000000001"), Decimal("375940"), None),
    CostRow(
        day(2), "USE1-ProvisionedThroughput-ModelUnits", Decimal("21.18"), Decimal("1"), "Claude 3 Haiku"
    ),
]


def flow(stack: Any, http: Any) -> CloudFlow:
    return CloudFlow(stack, http, new_account(stack), "aws_bedrock", "AWS cost explorer")


def test_connect_aws_with_fields_sync_and_see_the_bill(stack: Any, http: Any, provider_fakes: Any) -> None:
    aws = provider_fakes.aws_bedrock.tenant()
    aws.load(BILL)
    cloud = flow(stack, http)
    assert cloud.field_shapes() == [("access_key_id", False), ("secret_access_key", True)]
    openapi = http.get(f"{stack.base_url}/openapi.json", timeout=30).json()
    assert "fields" in openapi["components"]["schemas"]["NewCredential"]["properties"]
    assert "CredentialField" in openapi["components"]["schemas"]

    # The single-key shape is refused for a multi-field platform, with a message saying what to send.
    refused = cloud.post({"api_key": aws.secret})
    assert refused.status_code == 400 and "fields" in refused.json()["detail"]
    bad = cloud.post_fields({**aws.fields, "secret_access_key": "short"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "fields.secret_access_key"

    credential, backfill = cloud.connect(aws.fields)
    assert credential["last4"] == aws.api_key[-4:]  # of the access key ID, never the secret
    assert backfill["status"] == "succeeded", backfill
    # 90 days in one GetCostAndUsage request, followed over the fake's pages of 31 days: one
    # request ($0.01) per page, never one per day.
    assert len(aws.cost_requests()) == 3 and len(aws.payloads) == 3
    assert [("NextPageToken" in p) for p in aws.payloads] == [False, True, True]

    body = cloud.summary(
        **{"from": day(29).isoformat(), "to": TODAY.isoformat(), "group_by": "day,platform,model"}
    )
    assert Decimal(body["total_cost_usd"]) == aws.total() == Decimal("22.2237500001")
    shown = {(g["day"], g["model"]): Decimal(g["cost_usd"]) for g in body["groups"]}
    assert shown == {
        (day(9).isoformat(), "Claude 3 Haiku"): Decimal("0.04375"),
        (day(4).isoformat(), "Llama3-70b"): Decimal("1.0000000001"),
        (day(2).isoformat(), "Claude 3 Haiku"): Decimal("21.18"),
    }
    assert body["units"]["input_uncached_tokens"] == 425940 and body["units"]["output_tokens"] == 25000
    assert cloud.statuses() == ["active"]
    cloud.assert_never_shown(aws.secret, json.dumps(aws.fields))


def test_a_wrong_secret_shows_the_key_as_invalid(stack: Any, http: Any, provider_fakes: Any) -> None:
    aws = provider_fakes.aws_bedrock.tenant()
    aws.load(BILL)
    cloud = flow(stack, http)
    wrong = "W" * 20 + "rongSecretAccessKey+"  # 40 characters: the right shape, not the key's
    key = cloud.refused_key({"access_key_id": aws.api_key, "secret_access_key": wrong})
    assert "ce:GetCostAndUsage" in key["status_message"]
    assert len(aws.cost_requests()) == 1  # an auth failure is not retried
    cloud.assert_never_shown(wrong)
