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
from support.fakes import CostRow
from support.usage_api import runs_of, wait_for_runs

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


def post_credential(http: Any, stack: Any, account: Any, fields: dict[str, str]) -> Any:
    return http.post(
        f"{stack.base_url}/v1/credentials",
        json={"platform": "aws_bedrock", "fields": fields, "label": "AWS cost explorer"},
        headers=account.headers,
        timeout=30,
    )


def test_connect_aws_with_fields_sync_and_see_the_bill(stack: Any, http: Any, provider_fakes: Any) -> None:
    aws = provider_fakes.aws_bedrock.tenant()
    aws.load(BILL)
    account = new_account(stack)
    bodies: list[str] = []

    platforms = http.get(f"{stack.base_url}/v1/platforms", timeout=30).json()["items"]
    (entry,) = [p for p in platforms if p["id"] == "aws_bedrock"]
    assert [(f["name"], f["secret"]) for f in entry["fields"]] == [
        ("access_key_id", False),
        ("secret_access_key", True),
    ]
    openapi = http.get(f"{stack.base_url}/openapi.json", timeout=30).json()
    assert "fields" in openapi["components"]["schemas"]["NewCredential"]["properties"]
    assert "CredentialField" in openapi["components"]["schemas"]

    # The single-key shape is refused for a multi-field platform, with a message saying what to send.
    refused = http.post(
        f"{stack.base_url}/v1/credentials",
        json={"platform": "aws_bedrock", "api_key": aws.secret},
        headers=account.headers,
        timeout=30,
    )
    assert refused.status_code == 400 and "fields" in refused.json()["detail"]
    bad = post_credential(http, stack, account, {**aws.fields, "secret_access_key": "short"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "fields.secret_access_key"
    bodies += [refused.text, bad.text]

    created = post_credential(http, stack, account, aws.fields)
    assert created.status_code == 201, created.text
    bodies.append(created.text)
    credential = created.json()["credential"]
    assert credential["last4"] == aws.api_key[-4:]  # of the access key ID, never the secret
    wait_for_runs(http, stack, account, credential["id"])
    (backfill,) = runs_of(http, stack, account, credential["id"])
    assert backfill["status"] == "succeeded", backfill
    # 90 days in one GetCostAndUsage request, followed over the fake's pages of 31 days: one
    # request ($0.01) per page, never one per day.
    assert len(aws.cost_requests()) == 3 and len(aws.payloads) == 3
    assert [("NextPageToken" in p) for p in aws.payloads] == [False, True, True]

    frm, to = day(29).isoformat(), TODAY.isoformat()
    summary = http.get(
        f"{stack.base_url}/v1/usage/summary",
        params={"from": frm, "to": to, "group_by": "day,platform,model"},
        headers=account.headers,
        timeout=30,
    )
    assert summary.status_code == 200, summary.text
    bodies.append(summary.text)
    body = summary.json()
    assert Decimal(body["total_cost_usd"]) == aws.total() == Decimal("22.2237500001")
    shown = {(g["day"], g["model"]): Decimal(g["cost_usd"]) for g in body["groups"]}
    assert shown == {
        (day(9).isoformat(), "Claude 3 Haiku"): Decimal("0.04375"),
        (day(4).isoformat(), "Llama3-70b"): Decimal("1.0000000001"),
        (day(2).isoformat(), "Claude 3 Haiku"): Decimal("21.18"),
    }
    assert body["units"]["input_uncached_tokens"] == 425940 and body["units"]["output_tokens"] == 25000

    listed = http.get(f"{stack.base_url}/v1/credentials", headers=account.headers, timeout=30)
    bodies.append(listed.text)
    assert [c["status"] for c in listed.json()["items"]] == ["active"]
    for text in bodies:
        assert aws.secret not in text
    assert aws.secret not in stack.log_text()
    assert json.dumps(aws.fields) not in stack.log_text()


def test_a_wrong_secret_shows_the_key_as_invalid(stack: Any, http: Any, provider_fakes: Any) -> None:
    aws = provider_fakes.aws_bedrock.tenant()
    aws.load(BILL)
    account = new_account(stack)
    wrong = "W" * 20 + "rongSecretAccessKey+"  # 40 characters: the right shape, not the key's
    created = post_credential(
        http, stack, account, {"access_key_id": aws.api_key, "secret_access_key": wrong}
    )
    assert created.status_code == 201, created.text
    credential_id = created.json()["credential"]["id"]
    wait_for_runs(http, stack, account, credential_id)
    (run,) = runs_of(http, stack, account, credential_id)
    assert run["status"] == "failed", run
    shown = http.get(f"{stack.base_url}/v1/credentials/{credential_id}", headers=account.headers, timeout=30)
    key = shown.json()["credential"]
    assert key["status"] == "invalid" and "ce:GetCostAndUsage" in key["status_message"]
    assert len(aws.cost_requests()) == 1  # an auth failure is not retried
    for text in (created.text, shown.text, json.dumps(run)):
        assert wrong not in text
    assert wrong not in stack.log_text()
