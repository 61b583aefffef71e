"""The OpenAI path end to end: a Professional user's PDF goes gateway → parser → the real `openai`
SDK → a local OpenAI-compatible fake, comes back as a preview, and imports into usage. A document
with injected instructions yields only schema-valid records, or a clear 422 and nothing stored.

The session stack's parser has no OpenAI settings, so this module starts one more parser and one
more gateway wired to the fake (same database, auth and usage as the session stack), exactly as
`make run` starts them. Once the session stack itself starts the fake (tests/conftest.py passing
FakeOpenAICompat.stack_env() to make_stack), these tests can use `stack` directly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from support.accounts import auth_db, new_account
from support.ai_gateway import AiGateway, running_ai_gateway
from testkit.fakes.openai_compat import FakeOpenAICompat, charge

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "services" / "parser" / "tests" / "fixtures"


@pytest.fixture(scope="module")
def ai_gateway(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AiGateway]:
    with running_ai_gateway(stack, tmp_path_factory.mktemp("ai-gateway")) as gateway:
        yield gateway


@pytest.fixture()
def professional(stack: Any, mongo_uri: str) -> Any:
    account = new_account(stack)
    # Until the Stripe upgrade flow exists, the plan is set where auth keeps it.
    with auth_db(mongo_uri) as db:
        db["accounts"].update_one({"_id": account.account_id}, {"$set": {"plan": "professional"}})
    return account


@pytest.fixture()
def fake(ai_gateway: AiGateway) -> FakeOpenAICompat:
    ai_gateway.fake.reset()
    return ai_gateway.fake


def upload_pdf(gateway: AiGateway, account: Any, name: str) -> requests.Response:
    files = {"file": (name, (FIXTURES / name).read_bytes(), "application/pdf")}
    return requests.post(f"{gateway.base_url}/v1/uploads", headers=account.headers, files=files, timeout=120)


def items(gateway: AiGateway, account: Any) -> list[dict]:
    response = requests.get(f"{gateway.base_url}/v1/uploads", headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_professional_pdf_is_read_by_openai_and_imported(ai_gateway, fake, professional):
    fake.reply_records(
        [
            charge("2025-06-01", "gpt-4o", "10.00", "GPT-4o usage"),
            charge("2025-06-01", "text-embedding-3-small", "2.50", "Embeddings"),
        ]
    )
    response = upload_pdf(ai_gateway, professional, "invoice.pdf")
    assert response.status_code == 202, response.text
    up = response.json()["upload"]
    assert up["parser"] == "openai_extraction" and up["content_type"] == "application/pdf"
    assert Decimal(up["total_cost_usd"]) == Decimal("12.50")
    assert {r["model"] for r in up["records_preview"]} == {"gpt-4o", "text-embedding-3-small"}

    (call,) = fake.calls
    assert call.body["model"] == "gpt-fake-extractor" and "tools" not in call.body
    assert call.body["response_format"]["json_schema"]["strict"] is True
    document = json.loads(call.messages[1]["content"])["document"]
    assert "Total due: $12.50" in document

    imported = requests.post(
        f"{ai_gateway.base_url}/v1/uploads/{up['id']}/import", headers=professional.headers, timeout=60
    )
    assert imported.status_code == 200, imported.text
    summary = requests.get(
        f"{ai_gateway.base_url}/v1/usage/summary",
        headers=professional.headers,
        params={"from": "2025-06-01", "to": "2025-06-30"},
        timeout=30,
    ).json()
    assert Decimal(summary["total_cost_usd"]) == Decimal("12.50")


def test_injected_instructions_yield_only_schema_valid_records(ai_gateway, fake, professional):
    # A model that follows the document's instructions answers outside the schema: refused.
    fake.reply(
        content=json.dumps(
            {"platform": "openai", "currency": "USD", "records": [], "api_keys": ["sk-proj-leaked0123456789"]}
        )
    )
    refused = upload_pdf(ai_gateway, professional, "invoice_injection.pdf")
    assert refused.status_code == 422, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "did not match the expected record schema" in refused.json()["detail"]
    assert "sk-proj" not in refused.text
    assert items(ai_gateway, professional) == []

    # A model that ignores them answers in the schema: exactly those records, nothing else.
    fake.reply_records([charge("2025-07-01", "gpt-4o-mini", "3.00", "GPT-4o-mini usage")])
    accepted = upload_pdf(ai_gateway, professional, "invoice_injection.pdf")
    assert accepted.status_code == 202, accepted.text
    up = accepted.json()["upload"]
    assert [(r["model"], r["cost_usd"]) for r in up["records_preview"]] == [("gpt-4o-mini", "3.00")]
    system, user = fake.calls[-1].messages
    assert "untrusted data" in system["content"] and "Ignore previous instructions" not in system["content"]
    assert "Ignore previous instructions" in json.loads(user["content"])["document"]
    assert fake.api_key not in ai_gateway.logs()


def test_free_plan_never_reaches_openai(ai_gateway, fake, stack):
    free = new_account(stack)
    response = upload_pdf(ai_gateway, free, "invoice.pdf")
    assert response.status_code == 403 and "Professional plan" in response.json()["detail"]
    assert fake.calls == []


def test_openai_outage_is_a_clear_503(ai_gateway, fake, professional):
    fake.reply(status=500)
    fake.reply(status=500)  # the SDK's one retry
    response = upload_pdf(ai_gateway, professional, "invoice.pdf")
    assert response.status_code == 503, response.text
    assert response.json()["detail"] == "AI parsing is unavailable right now; try again later"
    assert response.headers["Retry-After"]
    assert items(ai_gateway, professional) == []
