"""Query values at the edges of what a date, a time or a cursor can hold: each is a clear 400
problem (or an answer), never a 500 from date arithmetic that overflows. The fuzzing in
test_api_fuzz.py rarely reaches these corners, so they are pinned here."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from support.accounts import new_account
from support.problems import assert_problem


@pytest.fixture(scope="module")
def account(stack: Any) -> Any:
    return new_account(stack)


def _cursor(value: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "phrase"),
    [
        ("/v1/audit-events?to=9999-12-31", "not valid"),  # the day after it does not exist
        ("/v1/audit-events?from=0001-01-01T00:00:00%2B14:00", "not valid"),  # earlier than year 1 in UTC
        ("/v1/audit-events/export?to=9999-12-31&format=csv", "not valid"),
        (f"/v1/audit-events?cursor={_cursor([10**16, 0, 'a'])}", "cursor is not valid"),
        (f"/v1/audit-events?cursor={_cursor([True, True, 'a'])}", "cursor is not valid"),
        ("/v1/usage/summary?to=0001-01-05", "to must be a day from 1970-01-01"),
        ("/v1/usage/records?to=0001-01-01", "to must be a day from 1970-01-01"),
        ("/v1/usage/month-to-date?to=0001-01-01", "to must be a day from 1970-01-01"),
    ],
)
def test_out_of_range_values_are_400(stack, http, account, path, phrase):
    response = http.get(f"{stack.base_url}{path}", headers=account.headers, timeout=30)
    assert_problem(response, 400, phrase)


def test_sync_to_year_one_is_400(stack, http, account):
    url = f"{stack.base_url}/v1/credentials/{'a' * 32}/sync"
    response = http.post(url, json={"to": "0001-01-01"}, headers=account.headers, timeout=30)
    assert_problem(response, 400, "to must be a day from 1970-01-01")


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01&to=9999-12-30",
        "from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z",
        f"cursor={_cursor([-62_135_596_800, 0, 'a'])}",  # 0001-01-01T00:00:00Z
        f"cursor={_cursor([253_402_300_799, 999_999_999, 'a'])}",  # 9999-12-31T23:59:59.999999999Z
    ],
)
def test_audit_list_takes_the_whole_range_of_times(stack, http, account, query):
    response = http.get(f"{stack.base_url}/v1/audit-events?{query}", headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
