"""Provider credentials through the gateway, as a person uses them: see the platforms, add an
OpenAI admin key, list it (last 4 characters only), delete it; wrong keys get a clear 400; other
accounts' ids answer 404; and the key never shows up in the database, the logs or a response."""

from __future__ import annotations

import base64
import json
import time
import uuid

import bson
import pytest
from pymongo import MongoClient
from support.accounts import new_account

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def alice(stack):
    return new_account(stack)


@pytest.fixture(scope="module")
def bob(stack):
    return new_account(stack)


# The shape of a Google service-account key file (the private key is not a real one).
SERVICE_ACCOUNT = json.dumps(
    {
        "type": "service_account",
        "client_email": "reader@p-1234.iam.gserviceaccount.com",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
)


def post(http, stack, account, body, **kwargs):
    return http.post(
        f"{stack.base_url}/v1/credentials", json=body, headers=account.headers, timeout=30, **kwargs
    )


def test_platform_catalog(stack, http):
    response = http.get(f"{stack.base_url}/v1/platforms", timeout=10)
    assert response.status_code == 200
    items = {p["id"]: p for p in response.json()["items"]}
    assert items["openai"]["connect"] == "both" and "sk-admin-" in items["openai"]["key_hint"]
    assert items["mistral"]["connect"] == "file"
    assert all(set(p) == {"id", "name", "connect", "units", "key_hint", "fields"} for p in items.values())
    # Multi-field credentials: AWS asks an access key ID (shown as last4) and a secret.
    assert [(f["name"], f["secret"]) for f in items["aws_bedrock"]["fields"]] == [
        ("access_key_id", False),
        ("secret_access_key", True),
    ]
    assert items["aws_bedrock"]["connect"] == "both" and items["openai"]["fields"] == []
    # Azure OpenAI: a service principal (tenant, client id shown as last4, secret) and a scope.
    assert [(f["name"], f["secret"]) for f in items["azure_openai"]["fields"]] == [
        ("tenant_id", False),
        ("client_id", False),
        ("client_secret", True),
        ("scope", False),
    ]
    # Google: a service account's JSON key (secret), the billing export table and an optional project.
    assert [(f["name"], f["secret"], f["required"]) for f in items["google"]["fields"]] == [
        ("service_account_json", True, True),
        ("billing_table", False, True),
        ("billing_project", False, False),
    ]
    assert items["google"]["connect"] == "both"


def test_add_list_and_delete_an_openai_admin_key(stack, http, alice):
    key = "sk-admin-" + uuid.uuid4().hex + "WXYZ"
    created = post(http, stack, alice, {"platform": "openai", "api_key": f"  {key}\n", "label": "Main org"})
    assert created.status_code == 201, created.text
    credential = created.json()["credential"]
    assert credential["last4"] == "WXYZ" and credential["label"] == "Main org"
    assert credential["status"] == "active" and credential["last_sync_at"] is None
    assert credential["created_at"].endswith("Z")
    assert created.headers["Location"] == f"/v1/credentials/{credential['id']}"
    backfill = created.json()["sync_run"]  # a new key starts a 90-day backfill
    assert backfill["credential_id"] == credential["id"] and backfill["reason"] == "backfill"

    listed = http.get(f"{stack.base_url}/v1/credentials", headers=alice.headers, timeout=10)
    assert listed.status_code == 200
    stable = ("id", "platform", "label", "last4", "created_at")
    (item,) = listed.json()["items"]  # status and last_sync_at move as the backfill runs
    assert {k: item[k] for k in stable} == {k: credential[k] for k in stable}
    assert listed.json()["next_cursor"] is None
    credential = item
    assert set(credential) == {
        "id",
        "platform",
        "label",
        "last4",
        "status",
        "status_message",
        "created_at",
        "last_sync_at",
    }
    one = http.get(f"{stack.base_url}/v1/credentials/{credential['id']}", headers=alice.headers, timeout=10)
    assert {k: one.json()["credential"][k] for k in stable} == {k: credential[k] for k in stable}

    deleted = http.delete(
        f"{stack.base_url}/v1/credentials/{credential['id']}", headers=alice.headers, timeout=10
    )
    assert deleted.status_code == 204 and deleted.content == b""
    assert (
        http.get(f"{stack.base_url}/v1/credentials", headers=alice.headers, timeout=10).json()["items"] == []
    )
    again = http.delete(
        f"{stack.base_url}/v1/credentials/{credential['id']}", headers=alice.headers, timeout=10
    )
    assert again.status_code == 404
    assert "usage could not forget" not in stack.log_text()  # usage stopped its scheduled syncs


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"platform": "openai", "api_key": "sk-proj-abcdefghijklmnopqrstu"}, "api_key", "sk-admin-"),
        ({"platform": "openai", "api_key": "sk-proj-abcdefghijklmnopqrstu"}, "api_key", "admin-keys"),
        ({"platform": "anthropic", "api_key": "sk-ant-api03-abcdefghijklmnop"}, "api_key", "sk-ant-admin"),
        ({"platform": "nope", "api_key": "sk-admin-abcdefghijklmnop"}, "platform", "/v1/platforms"),
        ({"platform": "mistral", "api_key": "abcdefghijklmnop"}, "platform", "billing file"),
        ({"platform": "google", "api_key": "AIzaSyA-abcdefghijklmnop"}, "api_key", "fields"),
        (
            {
                "platform": "google",
                "fields": {
                    "service_account_json": '{"type": "authorized_user"}',
                    "billing_table": "p-1234.d.t",
                },
            },
            "fields.service_account_json",
            "service_account",
        ),
        (
            {
                "platform": "google",
                "fields": {
                    "service_account_json": SERVICE_ACCOUNT,
                    "billing_table": "p-1234.d.t`;DROP",
                },
            },
            "fields.billing_table",
            "project.dataset.table",
        ),
        ({"platform": "openai", "api_key": "   "}, "api_key", "empty"),
        ({"platform": "openai"}, "api_key", "required"),
        ({"platform": "aws_bedrock"}, "fields", "required"),
        ({"platform": "aws_bedrock", "api_key": "AKIAIOSFODNN7EXAMPLE"}, "api_key", "fields"),
        (
            {
                "platform": "aws_bedrock",
                "fields": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x"},
            },
            "fields.secret_access_key",
            "40 characters",
        ),
        (
            {"platform": "aws_bedrock", "fields": {"access_key_id": "AKIAIOSFODNN7EXAMPLE"}},
            "fields.secret_access_key",
            "empty",
        ),
        ({"platform": "openai", "fields": {"api_key": "sk-admin-abcdefghijklmnop"}}, "fields", "api_key"),
        ({"platform": "openai", "api_key": "sk-admin-" + "x" * 2000}, "api_key", "longer than"),
        ({"platform": "openai", "api_key": "sk-admin-abcdefghijklmnop", "label": "x" * 101}, "label", "100"),
        (
            {"platform": "openai", "api_key": "sk-admin-abcdefghijklmnop", "apiKey": "x"},
            "apiKey",
            "not permitted",
        ),
        ({"platform": "openai", "api_key": 12345678901}, "api_key", "string"),
    ],
)
def test_bad_input_gets_a_clear_400(stack, http, alice, body, field, says):
    response = post(http, stack, alice, body)
    assert response.status_code == 400 and response.headers["Content-Type"] == PROBLEM
    errors = response.json()["errors"]
    assert any(e["field"] == field and says in e["message"] for e in errors), errors
    if isinstance(body.get("api_key"), str) and body["api_key"].strip():
        assert body["api_key"] not in response.text


def test_body_must_be_json_and_caller_authenticated(stack, http, alice):
    url = f"{stack.base_url}/v1/credentials"
    as_form = http.post(url, data={"platform": "openai"}, headers=alice.headers, timeout=10)
    assert as_form.status_code == 415 and as_form.headers["Content-Type"] == PROBLEM
    not_object = http.post(url, json=["openai"], headers=alice.headers, timeout=10)
    assert not_object.status_code == 400
    assert http.get(url, timeout=10).status_code == 401
    assert http.post(url, json={"platform": "openai"}, timeout=10).status_code == 401


def test_another_accounts_credential_is_not_found(stack, http, alice, bob):
    created = post(http, stack, bob, {"platform": "openai", "api_key": "sk-admin-bobs-key-0123456789"})
    bobs_id = created.json()["credential"]["id"]
    for method in ("get", "delete"):
        response = getattr(http, method)(
            f"{stack.base_url}/v1/credentials/{bobs_id}", headers=alice.headers, timeout=10
        )
        assert response.status_code == 404 and response.headers["Content-Type"] == PROBLEM
    assert all(
        c["id"] != bobs_id
        for c in http.get(f"{stack.base_url}/v1/credentials", headers=alice.headers, timeout=10).json()[
            "items"
        ]
    )
    for bad_id in ("not-an-id", "x" * 300, uuid.uuid4().hex):
        assert (
            http.get(
                f"{stack.base_url}/v1/credentials/{bad_id}", headers=alice.headers, timeout=10
            ).status_code
            == 404
        )
    assert (
        http.get(f"{stack.base_url}/v1/credentials/{bobs_id}", headers=bob.headers, timeout=10).status_code
        == 200
    )


def _encodings(secret: str) -> list[bytes]:
    """The secret as raw bytes, hex and base64 at every alignment inside a longer encoding."""
    raw = secret.encode()
    forms = [raw, raw.hex().encode()]
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + raw)
            forms.append(encoded[4:-4])  # the middle does not depend on neighbouring bytes
    return forms


def test_canary_key_never_leaves_keyvault_in_clear(stack, http, alice, mongo_uri):
    canary = "sk-admin-CANARY" + uuid.uuid4().hex + "Q7"
    responses = [
        post(http, stack, alice, {"platform": "openai", "api_key": canary, "label": "canary"}),
        post(http, stack, alice, {"platform": "anthropic", "api_key": canary}),
        post(http, stack, alice, {"platform": "google", "api_key": canary}),
        post(http, stack, alice, {"platform": "openai", "api_key": canary, "extra": canary[:20]}),
        post(http, stack, alice, {"platform": "openai", "api_key": canary, "label": "a\tb"}),
    ]
    assert responses[0].status_code == 201 and all(r.status_code == 400 for r in responses[1:])
    credential_id = responses[0].json()["credential"]["id"]
    responses.append(http.get(f"{stack.base_url}/v1/credentials", headers=alice.headers, timeout=10))
    responses.append(
        http.get(f"{stack.base_url}/v1/credentials/{credential_id}", headers=alice.headers, timeout=10)
    )
    forms = _encodings(canary)
    for response in responses:
        body = response.content + str(response.headers).encode()
        assert not any(form in body for form in forms), response.text

    client: MongoClient = MongoClient(mongo_uri)
    try:
        found_ciphertext = False
        for db_name in client.list_database_names():
            for coll in client[db_name].list_collection_names():
                for doc in client[db_name][coll].find():
                    if (
                        db_name == "aicosts_keyvault"
                        and coll == "credentials"
                        and doc["_id"] == credential_id
                    ):
                        found_ciphertext = doc.pop("ciphertext") is not None
                    data = bson.encode(doc)
                    assert not any(form in data for form in forms), f"canary in {db_name}.{coll}"
        assert found_ciphertext  # the key is stored, only as ciphertext
    finally:
        client.close()

    # The access log line of the GET above proves the captured logs cover this test's requests.
    deadline = time.monotonic() + 10
    while f"/v1/credentials/{credential_id}" not in stack.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    logs = stack.log_text().encode()
    assert f"/v1/credentials/{credential_id}".encode() in logs
    assert not any(form in logs for form in forms)
