"""Google Vertex AI / Gemini API through the gateway and the real stack: a service account's JSON
key and the billing export table sent as `fields`, stored by keyvault as one secret, a sync that
gets a token with the JWT-bearer grant and runs one BigQuery query against the fake, and the
summary equal to the fake's bill to the cent. A key the account does not have shows the credential
as invalid; no private key appears in any API response or in the stack's log."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from support.accounts import new_account
from support.cloud_flow import CloudFlow
from testkit.fakes import BillingRow
from testkit.fakes.google_bigquery import at, other_private_key

TODAY = dt.datetime.now(dt.UTC).date()


def day(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


BILL = [
    BillingRow(
        at(day(9), 3), "Vertex AI", "Gemini 2.5 Pro Input Text Tokens", Decimal("0.125"), Decimal("100000")
    ),
    BillingRow(
        at(day(9), 4),
        "Vertex AI",
        "Gemini 2.5 Pro Output Text Tokens",
        Decimal("1.5"),
        Decimal("150000"),
        credits=(Decimal("-0.25"),),
    ),
    BillingRow(
        at(day(4), 23), "Gemini API", "Gemini 2.5 Flash Input Tokens", Decimal("0.000003"), Decimal("10")
    ),
    BillingRow(at(day(2), 0), "Vertex AI", "Imagen 4 Image Generation", Decimal("0.04"), Decimal("1")),
    # Not generative AI: left out by the query.
    BillingRow(
        at(day(3), 1), "Compute Engine", "N1 Predefined Instance Core", Decimal("9.99"), Decimal("3600")
    ),
]


def flow(stack: Any, http: Any) -> CloudFlow:
    return CloudFlow(stack, http, new_account(stack), "google", "Billing export")


def test_connect_google_with_fields_sync_and_see_the_bill(stack: Any, http: Any, provider_fakes: Any) -> None:
    google = provider_fakes.google.tenant()
    google.load(BILL)
    cloud = flow(stack, http)
    private = google.account.private_pem.splitlines()[5]  # a line from inside the private key
    assert cloud.field_shapes() == [
        ("service_account_json", True),
        ("billing_table", False),
        ("billing_project", False),
    ]
    refused = cloud.post({"api_key": "AIzaSyA-0123456789abcdef"})
    assert refused.status_code == 400 and "fields" in refused.json()["detail"]
    bad = cloud.post_fields({**google.fields, "billing_table": "no-dots"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "fields.billing_table"

    credential, backfill = cloud.connect(google.fields)
    assert credential["last4"] == google.account.key_id[-4:]  # the key's id, never the private key
    assert backfill["status"] == "succeeded", json.dumps(backfill)
    # The 90-day backfill is one query (BigQuery bills the bytes each query scans).
    assert len(google.query_requests()) == 1 and len(google.token_requests()) == 1

    window = {"from": day(29).isoformat(), "to": TODAY.isoformat()}
    body = cloud.summary(**window, group_by="day,platform,model")
    assert Decimal(body["total_cost_usd"]) == google.total() == Decimal("1.415003")
    shown = {(g["day"], g["platform"], g["model"]): Decimal(g["cost_usd"]) for g in body["groups"]}
    assert shown == {
        (day(9).isoformat(), "google", "gemini-2.5-pro"): Decimal("1.375"),
        (day(4).isoformat(), "google", "gemini-2.5-flash"): Decimal("0.000003"),
        (day(2).isoformat(), "google", "imagen-4"): Decimal("0.04"),
    }
    assert body["units"]["input_uncached_tokens"] == 100010 and body["units"]["output_tokens"] == 150000
    assert cloud.statuses() == ["active"]
    cloud.assert_never_shown(private, "PRIVATE KEY")


def test_a_key_the_account_does_not_have_shows_the_credential_as_invalid(
    stack: Any, http: Any, provider_fakes: Any
) -> None:
    google = provider_fakes.google.tenant()
    google.load(BILL)
    cloud = flow(stack, http)
    wrong_key = other_private_key()
    fields = {**google.fields, "service_account_json": json.dumps(google.service_account(wrong_key))}
    key = cloud.refused_key(fields)
    assert "BigQuery Job User" in key["status_message"]
    assert google.query_requests() == [] and len(google.token_requests()) == 1  # not retried
    cloud.assert_never_shown(wrong_key.splitlines()[5])
