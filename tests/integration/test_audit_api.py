"""GET /v1/audit-events and its export on the session stack: one account's events from every
service merged newest first, cursor pages without gaps or repeats, filters, other accounts never
seen, CSV and JSON exports holding exactly the list's events (CSV safe from formula injection)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from support.accounts import new_account
from support.audit import list_events, wait_for_events
from support.usage_api import add_credential, wait_for_runs

FIXTURES = Path(__file__).resolve().parents[2] / "services" / "parser" / "tests" / "fixtures"
# User agents a spreadsheet would run as formulas if a CSV cell started with them.
FORMULAS = ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)"]


def _at(event: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(event["at"].replace("Z", "+00:00"))


def _rename(http: requests.Session, stack: Any, account: Any, name: str, user_agent: str) -> None:
    response = http.patch(
        f"{stack.base_url}/v1/me",
        json={"name": name},
        headers={**account.headers, "User-Agent": user_agent},
        timeout=30,
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def busy(stack: Any, provider_fakes: Any) -> dict[str, Any]:
    """An account with events in all four services: auth (sign-up, sign-in, renames, a wrong
    password), keyvault and usage (a credential and its backfill), parser and usage (a file)."""
    http = requests.Session()
    account = new_account(stack)
    for i, agent in enumerate(FORMULAS):
        _rename(http, stack, account, f"Name {i}", agent)
    wrong = http.post(
        f"{stack.base_url}/v1/me/password",
        json={"current_password": "not-the-password", "new_password": "Another-Passw0rd!"},
        headers=account.headers,
        timeout=30,
    )
    assert wrong.status_code in (400, 401, 403), wrong.text
    credential = add_credential(http, stack, account, "openai", provider_fakes.openai.tenant().api_key)
    wait_for_runs(http, stack, account, credential["id"])
    files = {"file": ("cost.csv", (FIXTURES / "openai_cost.csv").read_bytes(), "text/csv")}
    up = http.post(f"{stack.base_url}/v1/uploads", headers=account.headers, files=files, timeout=60)
    assert up.status_code == 202, up.text
    imported = http.post(
        f"{stack.base_url}/v1/uploads/{up.json()['upload']['id']}/import", headers=account.headers, timeout=60
    )
    assert imported.status_code == 200, imported.text
    services = {"auth", "keyvault", "usage", "parser"}
    events = wait_for_events(
        http,
        stack,
        account,
        lambda evs: (
            {e["service"] for e in evs} >= services
            and any(e["action"] == "usage.records_imported" for e in evs)
        ),
    )
    assert {e["service"] for e in events} >= services
    return {"http": http, "account": account, "events": events}


def test_events_are_newest_first_across_services_with_the_api_shape(busy):
    events = busy["events"]
    keys = [(_at(e), e["id"]) for e in events]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    for event in events:
        assert event.keys() >= {
            "id",
            "at",
            "actor",
            "action",
            "target",
            "ip",
            "user_agent",
            "request_id",
            "outcome",
        }
        assert event["outcome"] in ("success", "failure", "denied")
        assert set(event["target"]) == {"type", "id"}
    renames = [e for e in events if e["action"] == "account.updated"]
    assert sorted(e["user_agent"] for e in renames) == sorted(FORMULAS)


def test_cursor_pages_hold_every_event_once(stack, busy):
    http, account, events = busy["http"], busy["account"], busy["events"]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = http.get(
            f"{stack.base_url}/v1/audit-events", params=params, headers=account.headers, timeout=30
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        seen += [e["id"] for e in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # Later events (the listing itself writes none) may only come before the first page.
    assert seen == [e["id"] for e in events] and pages >= len(events) // 2


def test_filters_by_action_outcome_and_time(stack, busy):
    http, account, events = busy["http"], busy["account"], busy["events"]

    def ids(**params: Any) -> list[str]:
        return [e["id"] for e in list_events(http, stack, account, **params)]

    renames = [e["id"] for e in events if e["action"] == "account.updated"]
    assert ids(action="account.updated") == renames
    assert ids(action="account") == [e["id"] for e in events if e["action"].startswith("account.")]
    both = {"session.login", "upload.created"}
    assert ids(action="session.login,upload.created") == [e["id"] for e in events if e["action"] in both]
    assert ids(action=["session.login", "upload.created"]) == ids(action="session.login,upload.created")
    assert ids(action="upload.create") == []  # a prefix matches whole dotted parts only
    failures = ids(outcome="failure")
    assert failures == [e["id"] for e in events if e["outcome"] == "failure"] and failures

    middle = events[len(events) // 2]
    pivot = middle["at"]
    assert ids(**{"from": pivot}) == [e["id"] for e in events if _at(e) >= _at(middle)]
    assert ids(to=pivot) == [e["id"] for e in events if _at(e) < _at(middle)]
    today = dt.datetime.now(dt.UTC).date()
    assert ids(to=today.isoformat()) == [e["id"] for e in events]  # a day `to` includes that day
    assert ids(**{"from": (today + dt.timedelta(days=1)).isoformat()}) == []


def test_another_account_sees_none_of_these_events(stack, busy):
    http = busy["http"]
    other = new_account(stack)
    theirs = list_events(http, stack, other)
    assert theirs and not {e["id"] for e in theirs} & {e["id"] for e in busy["events"]}
    # A cursor taken from the first account's pages only moves through the caller's own events.
    first = http.get(
        f"{stack.base_url}/v1/audit-events", params={"limit": 1}, headers=busy["account"].headers, timeout=30
    ).json()
    page = http.get(
        f"{stack.base_url}/v1/audit-events",
        params={"cursor": first["next_cursor"]},
        headers=other.headers,
        timeout=30,
    )
    assert page.status_code == 200 and {e["id"] for e in page.json()["items"]} <= {e["id"] for e in theirs}


def test_csv_and_json_exports_hold_exactly_the_listed_events(stack, busy):
    http, account = busy["http"], busy["account"]
    newest = _at(busy["events"][0]) + dt.timedelta(milliseconds=1)
    window = {"to": newest.isoformat().replace("+00:00", "Z")}  # leaves out the exports' own events
    listed = list_events(http, stack, account, **window)
    assert listed == busy["events"]

    def export(fmt: str) -> requests.Response:
        response = http.get(
            f"{stack.base_url}/v1/audit-events/export",
            params={**window, "format": fmt},
            headers=account.headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert response.headers["Content-Disposition"] == f'attachment; filename="aicosts-audit-events.{fmt}"'
        return response

    as_json = export("json")
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert json.loads(as_json.text) == listed

    as_csv = export("csv")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8"))))
    assert [r["id"] for r in rows] == [e["id"] for e in listed]
    for row, event in zip(rows, listed, strict=True):
        agent = event["user_agent"] or ""
        expected_agent = "'" + agent if agent[:1] in ("=", "+", "-", "@") else agent
        assert row["user_agent"] == expected_agent
        assert (row["at"], row["action"], row["actor"], row["outcome"], row["service"]) == (
            event["at"],
            event["action"],
            event["actor"],
            event["outcome"],
            event["service"],
        )
        assert (row["target_type"], row["target_id"]) == (
            event["target"]["type"] or "",
            event["target"]["id"] or "",
        )
        assert (row["ip"], row["request_id"]) == (event["ip"] or "", event["request_id"] or "")
        assert json.loads(row["details"]) == event["details"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())

    exports = wait_for_events(http, stack, account, lambda evs: len(evs) >= 2, action="audit.export")
    assert sorted(e["details"]["format"] for e in exports) == ["csv", "json"]
    assert {(e["service"], e["actor"], e["outcome"]) for e in exports} == {
        ("auth", f"account:{account.account_id}", "success")
    }


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/audit-events", {"limit": 0}, "limit"),
        ("/v1/audit-events", {"limit": 501}, "limit"),
        ("/v1/audit-events", {"cursor": "garbage"}, None),
        ("/v1/audit-events", {"from": "yesterday"}, "from"),
        ("/v1/audit-events", {"to": "2025-01-01T00:00:00"}, "to"),
        ("/v1/audit-events", {"outcome": "maybe"}, "outcome"),
        ("/v1/audit-events", {"action": "Not An Action"}, "action"),
        ("/v1/audit-events", {"actor": "me"}, "actor"),
        ("/v1/audit-events/export", {"format": "xml"}, "format"),
    ],
)
def test_bad_queries_are_clear_problems(stack, busy, path, params, field):
    response = busy["http"].get(
        f"{stack.base_url}{path}", params=params, headers=busy["account"].headers, timeout=30
    )
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    if field:
        assert field in [e["field"] for e in response.json()["errors"]]


def test_audit_events_need_a_signed_in_account(stack):
    for path in ("/v1/audit-events", "/v1/audit-events/export"):
        assert requests.get(f"{stack.base_url}{path}", timeout=30).status_code == 401
