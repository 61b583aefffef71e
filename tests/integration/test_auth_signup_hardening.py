"""Signup through the gateway: the same answer for a new and a taken address (the owner is told by
email), a limit per client network, and accounts whose address is not confirmed expire after 7
days. Password-reset requests are limited per network too. Each test connects from a loopback
address of its own, so the limits stay within it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from auth.passwords import hash_password
from support import outbox
from support.accounts import (
    auth_db,
    login,
    new_account,
    random_loopback_ip,
    session_from,
    strong_password,
    unique_email,
    verify,
)

SIGNUP_LIMIT = RESET_LIMIT = 20  # AUTH_SIGNUP_NETWORK_MAX, AUTH_RESET_NETWORK_MAX defaults


@pytest.fixture(scope="module")
def db(mongo_uri):
    with auth_db(mongo_uri) as database:
        yield database


@pytest.fixture()
def client():
    session = session_from(random_loopback_ip())
    yield session
    session.close()


def _signup(stack, client: requests.Session, email: str, password: str) -> requests.Response:
    body = {"email": email, "password": password, "name": "Signer"}
    return client.post(f"{stack.base_url}/v1/auth/signup", json=body, timeout=60)


def _shape(response: requests.Response) -> tuple[int, str, dict]:
    body = response.json()
    body.pop("request_id", None)
    return response.status_code, response.headers["Content-Type"], body


def _problem_kind(response: requests.Response) -> str:
    assert response.headers["Content-Type"] == "application/problem+json", response.text
    return response.json()["type"].rsplit("/", 1)[-1]


def test_signup_answers_alike_for_a_new_and_a_taken_address(stack, client, db):
    owner = new_account(stack)
    taken = _signup(stack, client, owner.email.upper(), strong_password())
    fresh_email = unique_email("fresh")
    fresh = _signup(stack, client, fresh_email, strong_password())
    assert _shape(taken) == _shape(fresh)
    assert fresh.status_code == 202 and set(fresh.json()) == {"status", "detail"}

    notice = outbox.latest(stack, owner.email, "tried to sign up")
    assert "already has one" in notice.text and "http" not in notice.text  # no link to follow
    outbox.latest(stack, fresh_email, "confirm your email")
    # The taken account is untouched: its password still works.
    assert "access_token" in login(stack, owner.email, owner.password)
    assert db.accounts.count_documents({"email_key": owner.email.lower()}) == 1
    event = db.audit_events.find_one(
        {"action": "account.signup", "account_id": owner.account_id, "outcome": "failure"}
    )
    assert event["details"]["reason"] == "email_taken" and event["actor"] == "anonymous"


def test_signups_are_limited_per_client_network(stack, client):
    for _ in range(SIGNUP_LIMIT):
        assert _signup(stack, client, unique_email("burst"), strong_password()).status_code < 300
    refused = _signup(stack, client, unique_email("burst"), strong_password())
    assert refused.status_code == 429, refused.text
    assert _problem_kind(refused) == "rate-limited" and "sign-ups" in refused.json()["detail"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    with session_from(random_loopback_ip()) as elsewhere:  # another network is not affected
        assert _signup(stack, elsewhere, unique_email("calm"), strong_password()).status_code == 202


def test_password_reset_requests_are_limited_per_client_network(stack, client):
    owner = new_account(stack)
    url = f"{stack.base_url}/v1/auth/password-reset"
    for i in range(RESET_LIMIT):
        email = owner.email if i % 2 else unique_email("nobody")
        assert client.post(url, json={"email": email}, timeout=30).status_code == 202
    answers = [client.post(url, json={"email": e}, timeout=30) for e in (owner.email, unique_email("x"))]
    assert [a.status_code for a in answers] == [429, 429]
    assert _shape(answers[0]) == _shape(answers[1])  # says nothing about the address either
    assert int(answers[0].headers["Retry-After"]) > 0


def test_an_unverified_account_expires_after_seven_days(stack, client, db):
    email, password = unique_email("stale"), strong_password()
    now = dt.datetime.now(dt.UTC)
    db.accounts.insert_one(
        {
            "_id": uuid.uuid4().hex,
            "email": email,
            "email_key": email.lower(),
            "name": "Stale",
            "role": "owner",
            "plan": "free",
            "email_verified": False,
            "unverified_expires_at": now - dt.timedelta(days=1),
            "password_hash": hash_password(password, cost=10),
            "token_version": 0,
            "created_at": now - dt.timedelta(days=8),
            "updated_at": now - dt.timedelta(days=8),
            "billing": {},
        }
    )
    refused = client.post(f"{stack.base_url}/v1/auth/login", json={"email": email, "password": password})
    assert refused.status_code == 401, refused.text
    # The address is free again: a new signup makes a new account with a week to confirm it.
    assert _signup(stack, client, email, strong_password()).status_code == 202
    fresh = db.accounts.find_one({"email_key": email.lower()})
    assert fresh["created_at"] > now - dt.timedelta(minutes=5)
    left = fresh["unverified_expires_at"] - fresh["created_at"]
    assert left == dt.timedelta(days=7)
    assert db.accounts.index_information()["unverified_ttl"]["expireAfterSeconds"] == 0
    verified = verify(stack, email)
    assert "unverified_expires_at" not in db.accounts.find_one({"_id": verified["id"]})
