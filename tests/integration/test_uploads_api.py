"""Billing files through the gateway on the session stack: upload an OpenAI cost CSV, preview,
import into the real usage service, see exactly the file's total in /v1/usage/summary, import
again and nothing changes; every bad file is a clear problem+json and leaves nothing behind."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from aicosts.parser.v1 import parser_pb2, parser_pb2_grpc
from support.accounts import auth_db, new_account
from support.grpc_clients import channel_as, identity_files

FIXTURES = Path(__file__).resolve().parents[2] / "services" / "parser" / "tests" / "fixtures"
SUMMARY = {"from": "2025-01-01", "to": "2025-01-31"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture()
def account(stack: Any) -> Any:
    return new_account(stack)


@pytest.fixture(scope="module")
def refused_account(stack: Any) -> Any:
    """One account for the many refused-upload cases: each asserts it still has nothing."""
    return new_account(stack)


def set_plan(mongo_uri: str, account_id: str, plan: str) -> None:
    """Until the Stripe upgrade flow exists, a plan change is made where auth keeps it."""
    with auth_db(mongo_uri) as db:
        assert db["accounts"].update_one({"_id": account_id}, {"$set": {"plan": plan}}).matched_count == 1


def upload(http, base_url: str, account, data: bytes, filename: str = "file.csv", **form: str):
    files = {"file": (filename, data, "application/octet-stream")}
    return http.post(f"{base_url}/v1/uploads", headers=account.headers, files=files, data=form, timeout=120)


def summary(http, stack, account, **params: str) -> dict:
    response = http.get(
        f"{stack.base_url}/v1/usage/summary",
        headers=account.headers,
        params={**SUMMARY, **params},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def uploads_of(http, stack, account) -> list[dict]:
    response = http.get(f"{stack.base_url}/v1/uploads", headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def assert_problem(response, status: int, *phrases: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["request_id"] and body["type"].startswith("https://")
    for phrase in phrases:
        assert phrase in body["detail"], body["detail"]
    return body


def test_upload_preview_import_summary_and_import_again(stack, http, account):
    response = upload(
        http, stack.base_url, account, fixture("openai_cost.csv"), "cost_2025-01-01_2025-01-31.csv"
    )
    assert response.status_code == 202, response.text
    up = response.json()["upload"]
    assert response.headers["Location"] == f"/v1/uploads/{up['id']}"
    assert up["status"] == "parsed" and up["parser"] == "openai_cost_csv" and up["platform"] == "openai"
    assert up["filename"] == "cost_2025-01-01_2025-01-31.csv" and up["content_type"] == "text/csv"
    assert Decimal(up["total_cost_usd"]) == Decimal("0.2343")
    assert up["record_count"] == len(up["records_preview"]) == 5
    first = next(
        r for r in up["records_preview"] if r["model"] == "gpt-4o-2024-08-06" and r["date"] == "2025-01-01"
    )
    assert first["cost_usd"] == "0.0875" and first["units"] == {
        "input_uncached_tokens": 15000,
        "output_tokens": 5000,
    }
    assert first["line_items"][0] == {
        "name": "gpt-4o-2024-08-06, input",
        "quantity": "15000.0",
        "unit": "tokens",
        "cost_usd": "0.0375",
    }
    assert up["records_imported"] is None
    assert Decimal(summary(http, stack, account)["total_cost_usd"]) == 0  # nothing before import

    got = http.get(f"{stack.base_url}/v1/uploads/{up['id']}", headers=account.headers, timeout=30)
    assert got.status_code == 200 and got.json()["upload"]["id"] == up["id"]
    assert [u["id"] for u in uploads_of(http, stack, account)] == [up["id"]]

    imported = http.post(
        f"{stack.base_url}/v1/uploads/{up['id']}/import", headers=account.headers, timeout=60
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["upload"]["status"] == "imported"
    assert imported.json()["upload"]["records_imported"] == 5
    after = summary(http, stack, account, group_by="platform")
    assert Decimal(after["total_cost_usd"]) == Decimal("0.2343")
    assert [(g["platform"], Decimal(g["cost_usd"])) for g in after["groups"]] == [
        ("openai", Decimal("0.2343"))
    ]

    again = http.post(f"{stack.base_url}/v1/uploads/{up['id']}/import", headers=account.headers, timeout=60)
    assert (
        again.status_code == 200
        and again.json()["upload"]["imported_at"] == imported.json()["upload"]["imported_at"]
    )
    assert summary(http, stack, account, group_by="platform") == after

    # The same file uploaded again and imported: usage keeps one record per day and model.
    second = upload(http, stack.base_url, account, fixture("openai_cost.csv"))
    assert any("uploaded before" in w for w in second.json()["upload"]["warnings"])
    http.post(
        f"{stack.base_url}/v1/uploads/{second.json()['upload']['id']}/import",
        headers=account.headers,
        timeout=60,
    )
    assert Decimal(summary(http, stack, account)["total_cost_usd"]) == Decimal("0.2343")


def test_deleting_an_imported_upload_removes_its_records(stack, http, account):
    up = upload(http, stack.base_url, account, fixture("anthropic_cost.csv")).json()["upload"]
    http.post(f"{stack.base_url}/v1/uploads/{up['id']}/import", headers=account.headers, timeout=60)
    window = {"from": "2025-08-01", "to": "2025-08-31"}
    assert Decimal(summary(http, stack, account, **window)["total_cost_usd"]) == Decimal("6.88")
    deleted = http.delete(f"{stack.base_url}/v1/uploads/{up['id']}", headers=account.headers, timeout=60)
    assert deleted.status_code == 204
    assert Decimal(summary(http, stack, account, **window)["total_cost_usd"]) == 0
    gone = http.get(f"{stack.base_url}/v1/uploads/{up['id']}", headers=account.headers, timeout=30)
    assert_problem(gone, 404, "upload not found")


def test_generic_table_reports_the_columns_it_used(stack, http, account):
    response = upload(http, stack.base_url, account, fixture("generic_spend.csv"), "spend.csv")
    assert response.status_code == 202, response.text
    up = response.json()["upload"]
    assert up["parser"] == "generic_table" and up["platform"] == "mistral"
    assert up["columns_used"]["cost_usd"] == "Amount (USD)" and up["columns_used"]["date"] == "Date"


def test_free_plan_pdf_is_403_naming_professional(stack, http, account, mongo_uri):
    set_plan(mongo_uri, account.account_id, "free")
    response = upload(http, stack.base_url, account, fixture("invoice.pdf"), "invoice.pdf")
    body = assert_problem(response, 403, "Professional plan")
    assert body["type"].endswith("/plan-required")
    assert uploads_of(http, stack, account) == []


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            for _ in range(50):  # 50 MB of zeros in ~50 KB: under the size cap, over the ratio cap
                sheet.write(b"\x00" * (1024 * 1024))
    return out.getvalue()


COST_HEADER = fixture("openai_cost.csv").splitlines()[0].decode()
COST_ROW = '1735689600,1735776000,{day},2025-01-02T00:00:00Z,{amount},usd,1,tokens,"gpt-4o, input",,,,,,,,'


@pytest.mark.parametrize(
    ("name", "data", "filename", "status", "phrase"),
    [
        (
            "bad date",
            f"{COST_HEADER}\n{COST_ROW.format(day='2025-02-30', amount='1')}\n",
            "c.csv",
            422,
            "not a date",
        ),
        (
            "negative cost",
            f"{COST_HEADER}\n{COST_ROW.format(day='2025-01-01', amount='-2')}\n",
            "c.csv",
            422,
            "negative",
        ),
        (
            "wrong encoding",
            "date,model,cost\n2025-01-01,modèle,1\n".encode("cp1252"),
            "c.csv",
            422,
            "not UTF-8",
        ),
        ("empty", b"", "c.csv", 422, "empty"),
        ("header only", f"{COST_HEADER}\n", "c.csv", 422, "no data rows"),
        ("unknown type", b"GIF89a\x01\x00\x01\x00\x00\x00\x00", "pic.gif", 415, "not accepted"),
        ("binary as csv", b"\x7fELF\x02\x01\x01\x00\x00\x00", "c.csv", 415, "not supported"),
        ("zip bomb", _zip_bomb, "bill.xlsx", 413, "zip bomb"),
    ],
)
def test_bad_files_are_clear_problems_and_leave_nothing(
    stack, http, account, name, data, filename, status, phrase
):
    raw = data() if callable(data) else data.encode() if isinstance(data, str) else data
    assert_problem(upload(http, stack.base_url, account, raw, filename), status, phrase)
    assert uploads_of(http, stack, account) == []
    assert Decimal(summary(http, stack, account)["total_cost_usd"]) == 0


def test_oversized_upload_is_413_before_the_body_is_read(stack, http, refused_account):
    account = refused_account
    response = upload(http, stack.base_url, account, b"a" * (20 * 1024 * 1024 + 1), "big.csv")
    assert_problem(response, 413, "larger than 20 MB")
    assert uploads_of(http, stack, account) == []


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"files": {"document": ("c.csv", b"date,cost\n")}}, 400, "file"),
        ({"files": {"file": ("c.csv", b"x")}, "data": {"platform": "Open AI!"}}, 400, "platform"),
        ({"json": {"file": "date,cost"}}, 415, None),
    ],
)
def test_bad_requests(stack, http, refused_account, kwargs, status, field):
    response = http.post(
        f"{stack.base_url}/v1/uploads", headers=refused_account.headers, timeout=30, **kwargs
    )
    body = assert_problem(response, status)
    if field:
        assert body["errors"][0]["field"] == field


def test_unknown_platform_is_400(stack, http, refused_account):
    response = upload(
        http, stack.base_url, refused_account, fixture("generic_spend.csv"), platform="nosuchplatform"
    )
    assert_problem(response, 400, "unknown platform")


def test_uploads_are_per_account(stack, http, account):
    up = upload(http, stack.base_url, account, fixture("anthropic_usage.csv")).json()["upload"]
    other = new_account(stack)
    for method, path in (
        ("GET", f"/v1/uploads/{up['id']}"),
        ("POST", f"/v1/uploads/{up['id']}/import"),
        ("DELETE", f"/v1/uploads/{up['id']}"),
    ):
        assert_problem(
            http.request(method, f"{stack.base_url}{path}", headers=other.headers, timeout=30), 404
        )
    assert uploads_of(http, stack, other) == []
    assert http.get(f"{stack.base_url}/v1/uploads", timeout=30).status_code == 401


def test_list_pages(stack, http, account):
    ids = [
        upload(http, stack.base_url, account, fixture("anthropic_usage.csv")).json()["upload"]["id"]
        for _ in range(3)
    ]
    page = http.get(
        f"{stack.base_url}/v1/uploads", headers=account.headers, params={"limit": 2}, timeout=30
    ).json()
    rest = http.get(
        f"{stack.base_url}/v1/uploads",
        headers=account.headers,
        params={"cursor": page["next_cursor"]},
        timeout=30,
    ).json()
    assert [u["id"] for u in page["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None
    assert_problem(http.get(f"{stack.base_url}/v1/uploads?limit=0", headers=account.headers, timeout=30), 400)


@pytest.mark.parametrize(("identity", "allowed"), [("gateway", True), ("usage", False), ("auth", False)])
def test_only_the_gateway_may_call_the_upload_rpcs(stack, tmp_path, identity, allowed):
    files = identity_files(stack.var_dir / "secrets" / "tls", identity, tmp_path / identity)
    stub = parser_pb2_grpc.ParserServiceStub(channel_as(f"127.0.0.1:{stack.ports['parser']}", files))
    request = parser_pb2.ListUploadsRequest(account_id="c" * 32)
    if allowed:
        assert list(stub.ListUploads(request, timeout=10).uploads) == []
        return
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListUploads(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
