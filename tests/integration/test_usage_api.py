"""The usage REST endpoints' contract: validation as problem+json, account scoping, sync-run
listing, and which service identity may call which usage RPC."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import grpc
import pytest
from aicosts.usage.v1 import usage_pb2 as pb
from aicosts.usage.v1 import usage_pb2_grpc
from support.accounts import new_account
from support.billing import upgrade
from support.grpc_clients import channel_as, identity_files
from support.usage_api import add_credential, sync_and_wait

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture()
def account(stack: Any) -> Any:
    return new_account(stack)


def call(http: Any, stack: Any, account: Any, method: str, path: str, **kwargs: Any) -> Any:
    return http.request(method, f"{stack.base_url}{path}", headers=account.headers, timeout=30, **kwargs)


def usage_stub(stack: Any, identity: str, tmp_path: Any) -> Any:
    files = identity_files(stack.var_dir / "secrets" / "tls", identity, tmp_path / identity)
    return usage_pb2_grpc.UsageServiceStub(channel_as(f"127.0.0.1:{stack.ports['usage']}", files))


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "field"),
    [
        ("POST", "/v1/credentials/{cred}/sync", {"json": {"from": "2026-1-1"}}, 400, "from"),
        ("POST", "/v1/credentials/{cred}/sync", {"json": {"since": "2026-01-01"}}, 400, "since"),
        ("POST", "/v1/credentials/{cred}/sync", {"data": "from=x"}, 415, None),
        ("GET", "/v1/usage/summary", {"params": {"group_by": "day,week"}}, 400, "group_by.1"),
        ("GET", "/v1/usage/summary", {"params": {"platfrom": "openai"}}, 400, "platfrom"),
        ("GET", "/v1/usage/summary", {"params": {"top": 5000}}, 400, "top"),
        ("GET", "/v1/usage/summary", {"params": {"group_by": "key"}}, 400, "group_by.0"),
        ("GET", "/v1/usage/month-to-date", {"params": {"from": "2026-09-01"}}, 400, "from"),
        ("GET", "/v1/usage/month-to-date", {"params": {"to": "2026-13-01"}}, 400, "to"),
        ("GET", "/v1/usage/records", {"params": {"limit": 501}}, 400, "limit"),
        ("GET", "/v1/usage/records", {"params": {"cursor": "garbage"}}, 400, None),
        ("GET", "/v1/usage/records", {"params": {"from": "2026-09-10", "to": "2026-09-01"}}, 400, None),
        ("GET", "/v1/usage/export", {"params": {"format": "xlsx"}}, 400, "format"),
        ("GET", "/v1/sync-runs", {"params": {"limit": 0}}, 400, "limit"),
    ],
)
def test_bad_input_is_a_clear_problem(
    stack: Any, http: Any, account: Any, method: str, path: str, kwargs: dict, status: int, field: str | None
) -> None:
    response = call(http, stack, account, method, path.format(cred="a" * 32), **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["detail"] and problem["request_id"]
    if field:
        assert field in [e["field"] for e in problem["errors"]]


def test_sync_needs_a_credential_of_this_account(stack: Any, http: Any, provider_fakes: Any) -> None:
    owner, stranger = new_account(stack), new_account(stack)
    credential = add_credential(http, stack, owner, "openai", provider_fakes.openai.tenant().api_key)
    for who, cred in ((stranger, credential["id"]), (owner, "f" * 32), (owner, "../../etc")):
        response = call(http, stack, who, "POST", f"/v1/credentials/{cred}/sync", json={})
        assert response.status_code == 404, response.text
    too_old = (TODAY - dt.timedelta(days=365)).isoformat()
    response = call(
        http, stack, owner, "POST", f"/v1/credentials/{credential['id']}/sync", json={"from": too_old}
    )
    assert response.status_code == 400 and "365 days" in response.json()["detail"]
    assert call(http, stack, owner, "GET", "/v1/usage/summary").status_code == 200
    assert http.get(f"{stack.base_url}/v1/usage/summary", timeout=30).status_code == 401


def test_runs_and_records_are_scoped_to_the_account(stack: Any, http: Any, provider_fakes: Any) -> None:
    owner, stranger = new_account(stack), new_account(stack)
    tenant = provider_fakes.openrouter.tenant()
    tenant.load_activity(
        [{"date": (TODAY - dt.timedelta(days=2)).isoformat(), "model": "x/y", "usage": "0.25"}]
    )
    credential = add_credential(http, stack, owner, "openrouter", tenant.api_key)
    run = sync_and_wait(
        http, stack, owner, credential["id"], **{"from": (TODAY - dt.timedelta(days=3)).isoformat()}
    )
    assert run["status"] == "succeeded" and run["records"] == 1

    assert call(http, stack, stranger, "GET", f"/v1/sync-runs/{run['id']}").status_code == 404
    assert call(http, stack, stranger, "GET", "/v1/sync-runs").json()["items"] == []
    assert call(http, stack, stranger, "GET", "/v1/usage/records").json() == {
        "items": [],
        "next_cursor": None,
    }
    assert call(http, stack, stranger, "GET", "/v1/usage/summary").json()["total_cost_usd"] == "0"
    mine = call(http, stack, owner, "GET", "/v1/usage/records", params={"platform": "openrouter"}).json()
    assert [(r["model"], r["cost_usd"], r["credential_id"]) for r in mine["items"]] == [
        ("x/y", "0.25", credential["id"])
    ]
    listed = call(
        http, stack, owner, "GET", "/v1/sync-runs", params={"credential_id": credential["id"]}
    ).json()
    assert run["id"] in [r["id"] for r in listed["items"]]


def test_parser_imports_file_records_and_only_the_parser_may(
    stack: Any, http: Any, account: Any, tmp_path: Any, stripe_fake: Any
) -> None:
    day = (TODAY - dt.timedelta(days=1)).isoformat()
    request = pb.ImportRecordsRequest(
        account_id=account.account_id,
        upload_id="upload-" + account.account_id[:8],
        records=[
            pb.RecordInput(
                platform="mistral",
                date=day,
                model='=HYPERLINK("evil")',
                cost_usd="1.5",
                units={"input_tokens": 7},  # a legacy unit name: read as input_uncached_tokens
            ),
            pb.RecordInput(platform="mistral", date=day, model="mistral-large", cost_usd="0.25"),
        ],
    )
    assert usage_stub(stack, "parser", tmp_path).ImportRecords(request, timeout=10).imported == 2
    assert (
        usage_stub(stack, "parser", tmp_path).ImportRecords(request, timeout=10).imported == 2
    )  # idempotent
    with pytest.raises(grpc.RpcError) as denied:
        usage_stub(stack, "gateway", tmp_path).ImportRecords(request, timeout=10)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as denied:
        usage_stub(stack, "parser", tmp_path).GetUsageSummary(
            pb.GetUsageSummaryRequest(account_id=account.account_id), timeout=10
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

    summary = call(http, stack, account, "GET", "/v1/usage/summary", params={"group_by": "source"}).json()
    assert summary["groups"] == [
        {
            "source": "file",
            "cost_usd": "1.75",
            "units": {"input_uncached_tokens": 7},
            "records": 2,
            "provisional": False,
            "estimated": False,
        }
    ]
    upgrade(stack, stripe_fake, account)  # CSV export is part of the Professional plan
    export = call(http, stack, account, "GET", "/v1/usage/export", params={"source": "file"})
    rows = list(csv.DictReader(io.StringIO(export.content.decode(), newline="")))
    assert sorted(r["model"] for r in rows) == ['\'=HYPERLINK("evil")', "mistral-large"]
    assert sum(Decimal(r["cost_usd"]) for r in rows) == Decimal("1.75")

    deleted = usage_stub(stack, "parser", tmp_path).DeleteImportedRecords(
        pb.DeleteImportedRecordsRequest(account_id=account.account_id, upload_id=request.upload_id),
        timeout=10,
    )
    assert deleted.deleted == 2
    assert call(http, stack, account, "GET", "/v1/usage/summary").json()["total_cost_usd"] == "0"


def test_dashboard_shapes_each_in_one_request(stack: Any, http: Any, account: Any, tmp_path: Any) -> None:
    """Top models with the rest folded, breakdown by key, and month to date against the same days
    of last month, each one GET, each equal to the imported records."""
    today = dt.date(2026, 11, 20)
    days = {
        "2026-11-01": "1.5",
        "2026-11-20": "2.25",
        "2026-10-01": "4",
        "2026-10-20": "8",
        "2026-10-21": "16",
    }
    records = [
        pb.RecordInput(platform="mistral", date=day, model=f"m{i}", cost_usd=cost, units={"requests": 1})
        for i, (day, cost) in enumerate(days.items())
    ]
    upload = pb.ImportRecordsRequest(account_id=account.account_id, upload_id="u" * 32, records=records)
    assert usage_stub(stack, "parser", tmp_path).ImportRecords(upload, timeout=10).imported == 5

    window = {"from": "2026-10-01", "to": today.isoformat()}
    top = call(
        http, stack, account, "GET", "/v1/usage/summary", params={**window, "group_by": "model", "top": 2}
    )
    body = top.json()
    assert [(g["model"], g["cost_usd"]) for g in body["groups"]] == [("m4", "16"), ("m3", "8")]
    assert (body["others"]["cost_usd"], body["others"]["groups"], body["total_cost_usd"]) == (
        "7.75",
        3,
        "31.75",
    )

    by_key = call(
        http, stack, account, "GET", "/v1/usage/summary", params={**window, "group_by": "credential_id"}
    )
    assert [(g["credential_id"], g["cost_usd"]) for g in by_key.json()["groups"]] == [("", "31.75")]
    only_files = call(
        http, stack, account, "GET", "/v1/usage/summary", params={**window, "credential_id": ""}
    )
    assert only_files.json()["total_cost_usd"] == "31.75"
    # Billing files carry no provider attribution: one unattributed group ("", no name), which
    # the empty filter value selects and a project id does not.
    by_project = call(
        http, stack, account, "GET", "/v1/usage/summary", params={**window, "group_by": "project,api_key"}
    ).json()
    assert [(g["project"], g["project_name"], g["api_key"], g["api_key_name"], g["cost_usd"])
            for g in by_project["groups"]] == [("", None, "", None, "31.75")]  # fmt: skip
    unattributed = call(http, stack, account, "GET", "/v1/usage/summary", params={**window, "project": ""})
    assert unattributed.json()["total_cost_usd"] == "31.75"
    other = call(http, stack, account, "GET", "/v1/usage/summary", params={**window, "api_key": "key_1"})
    assert other.json()["total_cost_usd"] == "0"

    month = call(http, stack, account, "GET", "/v1/usage/month-to-date", params={"to": today.isoformat()})
    assert month.status_code == 200, month.text
    body = month.json()
    assert (body["current"]["from"], body["current"]["to"], body["current"]["cost_usd"]) == (
        "2026-11-01",
        "2026-11-20",
        "3.75",
    )
    assert (body["previous"]["from"], body["previous"]["to"], body["previous"]["cost_usd"]) == (
        "2026-10-01",
        "2026-10-20",
        "12",
    )
    assert (body["change_usd"], body["change_ratio"]) == ("-8.25", "-0.6875")
    assert body["current"]["units"] == {"requests": 2}
