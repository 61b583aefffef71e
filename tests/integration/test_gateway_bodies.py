"""Request bodies through the real gateway: JSON routes take small, shallow, UTF-8 JSON objects
and answer anything else with a 400 or 413 problem that says what is wrong (never a 500); only
the routes that take files accept large bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support.accounts import new_account
from support.problems import assert_problem

JSON = {"Content-Type": "application/json"}
JSON_LIMIT = 64 * 1024  # GATEWAY_MAX_JSON_BYTES' default
DEPTH_LIMIT = 32
LOGIN = "/v1/auth/login"


@pytest.fixture(scope="module")
def account(stack: Any) -> Any:
    return new_account(stack)


def _nested(depth: int) -> str:
    """A login body whose email is `depth - 1` arrays deep, so the body is `depth` levels deep."""
    return '{"email": ' + "[" * (depth - 1) + "]" * (depth - 1) + ', "password": "x"}'


def _chunked(total: int, piece: int = 16 * 1024) -> Iterator[bytes]:
    # A generator body goes out with Transfer-Encoding: chunked, so no Content-Length is known.
    yield b'{"email": "a@example.com", "password": "'
    for _ in range(total // piece):
        yield b"x" * piece
    yield b'"}'


def test_json_body_over_the_json_limit_is_413(stack, http):
    body = b'{"email": "a@example.com", "password": "' + b"x" * JSON_LIMIT + b'"}'
    response = http.post(f"{stack.base_url}{LOGIN}", data=body, headers=JSON, timeout=30)
    assert_problem(response, 413, f"({JSON_LIMIT} bytes)")


def test_chunked_json_body_over_the_json_limit_is_413(stack, http):
    response = http.post(f"{stack.base_url}{LOGIN}", data=_chunked(256 * 1024), headers=JSON, timeout=30)
    assert_problem(response, 413, f"({JSON_LIMIT} bytes)")


def test_hundred_thousand_brackets_are_a_problem_not_a_500(stack, http):
    response = http.post(f"{stack.base_url}{LOGIN}", data="[" * 100_000, headers=JSON, timeout=30)
    assert_problem(response, 413)


@pytest.mark.parametrize("body", ["[" * 30_000, '{"a":' * 10_000, _nested(DEPTH_LIMIT + 1)])
def test_json_nested_too_deep_is_400(stack, http, body):
    response = http.post(f"{stack.base_url}{LOGIN}", data=body, headers=JSON, timeout=30)
    assert_problem(response, 400, f"nested deeper than {DEPTH_LIMIT} levels")


def test_json_at_the_depth_limit_is_parsed(stack, http):
    response = http.post(f"{stack.base_url}{LOGIN}", data=_nested(DEPTH_LIMIT), headers=JSON, timeout=30)
    body = assert_problem(response, 400, "not valid")
    assert [e["field"] for e in body["errors"]] == ["email"]  # parsed, then refused by the model


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        (b'{"email": "a@example.com", "password": "\xff"}', "not UTF-8"),
        (json.dumps({"email": "a@example.com", "password": "x"}).encode("utf-16"), "not UTF-8"),
        (b'{"email": "a@example.com", "password": ', "not valid JSON: Expecting value (line 1, column"),
        (b'{"email": NaN, "password": "x"}', "NaN is not a JSON value"),
        (b'{"email": ' + b"9" * 5000 + b"}", "a number has too many digits"),
        (b'{"email": "a@example.com", "password": "\\ud800"}', "unpaired surrogate"),
        (b"", "the body is empty"),
        (b'["a@example.com", "x"]', "the body must be a JSON object"),
        (b'"a@example.com"', "the body must be a JSON object"),
    ],
)
def test_malformed_json_is_a_clear_400(stack, http, raw, phrase):
    response = http.post(f"{stack.base_url}{LOGIN}", data=raw, headers=JSON, timeout=30)
    assert_problem(response, 400, phrase)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/credentials"),
        ("POST", "/v1/credentials/" + "a" * 32 + "/sync"),
        ("PATCH", "/v1/me"),
        ("POST", "/v1/billing/checkout"),
    ],
)
def test_every_json_route_reads_its_body_the_same_way(stack, http, account, method, path):
    url = f"{stack.base_url}{path}"
    headers = {**account.headers, **JSON}
    deep = http.request(method, url, data="[" * 40, headers=headers, timeout=30)
    assert_problem(deep, 400, f"nested deeper than {DEPTH_LIMIT} levels")
    broken = http.request(method, url, data=b"{\xff}", headers=headers, timeout=30)
    assert_problem(broken, 400, "not UTF-8")
    big = http.request(method, url, data=b" " * (JSON_LIMIT + 1), headers=headers, timeout=30)
    assert_problem(big, 413, f"({JSON_LIMIT} bytes)")


def test_optional_body_may_be_empty(stack, http, account):
    # No body at all starts a sync with the defaults; the credential does not exist, so 404.
    url = f"{stack.base_url}/v1/credentials/{'a' * 32}/sync"
    assert_problem(http.post(url, headers=account.headers, timeout=30), 404)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v1/status", {"Content-Type": "application/octet-stream"}),
        ("POST", "/verify-email", {"Content-Type": "application/x-www-form-urlencoded"}),
    ],
)
def test_routes_without_files_refuse_large_bodies(stack, http, method, path, headers):
    data = b"token=" + b"x" * (JSON_LIMIT + 1)
    response = http.request(method, f"{stack.base_url}{path}", data=data, headers=headers, timeout=30)
    assert_problem(response, 413)


def test_file_and_webhook_routes_keep_their_larger_limits(stack):
    # Fresh connections: a refused body is left unread, and the server may close its connection.
    upload = requests.post(
        f"{stack.base_url}/v1/uploads", files={"file": ("big.csv", b"a" * (JSON_LIMIT * 3))}, timeout=30
    )
    assert_problem(upload, 401)  # read past the size check, stopped by the missing token
    webhook = requests.post(
        f"{stack.base_url}/v1/webhooks/stripe",
        data=b"{" + b" " * (JSON_LIMIT * 3) + b"}",
        headers={**JSON, "Stripe-Signature": "t=1,v1=00"},
        timeout=30,
    )
    assert_problem(webhook, 400)  # the signature is checked, so the size was accepted
