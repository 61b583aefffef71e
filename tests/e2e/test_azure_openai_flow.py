"""Azure OpenAI through the gateway and the real stack: a service principal sent as `fields`,
stored by keyvault as one secret, a sync that takes a client-credentials token and queries the fake
Cost Management API, and the summary equal to the fake's bill to the cent. A wrong secret shows
as an invalid key; the secret appears in no API response and not in the stack's log."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from support.accounts import new_account
from support.cloud_flow import CloudFlow
from testkit.fakes import AzureCostRow

TODAY = dt.datetime.now(dt.UTC).date()


def day(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


BILL = [
    AzureCostRow(day(40), "gpt-4o-0806-Inp-glbl Tokens", Decimal("0.0750000000"), Decimal("30")),
    AzureCostRow(day(9), "gpt-4o-mini-0718-Inp-glbl Tokens", Decimal("0.024068"), Decimal("160.453")),
    AzureCostRow(day(9), "gpt-4o-mini-0718-Outp-glbl Tokens", Decimal("0.056312"), Decimal("93.853")),
    AzureCostRow(
        day(4), "gpt 4.1 Inp regnl Tokens", Decimal("1.0000000001"), Decimal("500"), resource="aoai-eu"
    ),
    AzureCostRow(day(2), "Provisioned Managed Global Units", Decimal("21.18"), Decimal("1")),
    AzureCostRow(day(2), "D2s v3", Decimal("99.99"), Decimal("24"), service="Virtual Machines"),
]


def flow(stack: Any, http: Any) -> CloudFlow:
    return CloudFlow(stack, http, new_account(stack), "azure_openai", "Azure cost management")


def test_connect_azure_with_fields_sync_and_see_the_bill(stack: Any, http: Any, provider_fakes: Any) -> None:
    azure = provider_fakes.azure_openai.tenant()
    azure.load(BILL)
    cloud = flow(stack, http)
    assert cloud.field_shapes() == [
        ("tenant_id", False),
        ("client_id", False),
        ("client_secret", True),
        ("scope", False),
    ]
    bad = cloud.post_fields({**azure.fields, "tenant_id": "contoso.onmicrosoft.com"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "fields.tenant_id"

    credential, backfill = cloud.connect(azure.fields)
    assert credential["last4"] == azure.api_key[-4:]  # of the client ID, never the secret
    assert backfill["status"] == "succeeded", backfill
    # One token for the whole sync; the backfill is asked 28 days at a time.
    assert len(azure.token_requests()) == 1
    assert len(azure.query_requests()) >= 3
    assert all(len({p["timePeriod"]["from"], p["timePeriod"]["to"]}) == 2 for p in azure.payloads)

    window = {"from": day(60).isoformat(), "to": TODAY.isoformat()}
    body = cloud.summary(**window, group_by="day,platform,model")
    assert Decimal(body["total_cost_usd"]) == azure.total() == Decimal("22.3353800001")
    shown = {(g["day"], g["model"]): Decimal(g["cost_usd"]) for g in body["groups"]}
    assert shown == {
        (day(40).isoformat(), "gpt-4o-0806"): Decimal("0.075"),
        (day(9).isoformat(), "gpt-4o-mini-0718"): Decimal("0.08038"),
        (day(4).isoformat(), "gpt-4.1"): Decimal("1.0000000001"),
        (day(2).isoformat(), "(other)"): Decimal("21.18"),
    }
    assert body["units"]["input_uncached_tokens"] == 30000 + 160453 + 500000
    assert body["units"]["output_tokens"] == 93853
    assert cloud.statuses() == ["active"]
    cloud.assert_never_shown(azure.secret, json.dumps(azure.fields))


def test_a_wrong_secret_shows_the_key_as_invalid(stack: Any, http: Any, provider_fakes: Any) -> None:
    azure = provider_fakes.azure_openai.tenant()
    azure.load(BILL)
    cloud = flow(stack, http)
    wrong = "Wr0ng~Client.Secret_Value-1234567890abcd"
    key = cloud.refused_key({**azure.fields, "client_secret": wrong})
    assert "Cost Management Reader" in key["status_message"]
    assert len(azure.token_requests()) == 1 and not azure.query_requests()  # not retried
    cloud.assert_never_shown(wrong)
