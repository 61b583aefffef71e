"""Sign-in, refresh-token rotation, logout and limits through the gateway (docs/security.md:
sessions, guessing passwords). Tests that fail sign-ins on purpose connect from their own
loopback address so the per-IP limit never touches the rest of the suite."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from support.accounts import (
    auth_db,
    login,
    new_account,
    random_loopback_ip,
    session_from,
    unique_email,
)


@pytest.fixture(scope="module")
def db(mongo_uri):
    with auth_db(mongo_uri) as database:
        yield database


@pytest.fixture()
def other_ip():
    session = session_from(random_loopback_ip())
    yield session
    session.close()


def _claims(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def _me(stack, http, token: str):
    return http.get(f"{stack.base_url}/v1/me", headers={"Authorization": f"Bearer {token}"})


def _refresh(stack, http, refresh_token: str):
    return http.post(f"{stack.base_url}/v1/auth/refresh", json={"refresh_token": refresh_token})


def test_login_returns_an_eddsa_access_token_for_ten_minutes(stack, http):
    account = new_account(stack)
    tokens = login(stack, account.email, account.password)
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 600
    header, claims = _claims(tokens["access_token"])
    assert header == {"alg": "EdDSA", "typ": "at+jwt"}
    assert claims["sub"] == account.account_id and claims["exp"] - claims["iat"] == 600
    assert (claims["iss"], claims["aud"]) == ("aicosts-auth", "aicosts-api")
    assert "." not in tokens["refresh_token"] and len(tokens["refresh_token"]) >= 43  # opaque, 256 bits


def test_unknown_email_and_wrong_password_get_identical_answers(stack, other_ip):
    """Checklist 5 (status and body; bench/auth_enumeration.py measures the timing)."""
    account = new_account(stack)
    answers = []
    for email in (account.email, unique_email("nobody")):
        response = other_ip.post(
            f"{stack.base_url}/v1/auth/login", json={"email": email, "password": "Wrong-password-1"}
        )
        body = response.json()
        body.pop("request_id")
        answers.append((response.status_code, response.headers["Content-Type"], body))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401 and answers[0][2]["detail"] == "The email or password is incorrect."


def test_eleventh_failed_login_from_one_network_is_429_with_retry_after(stack, other_ip, db):
    """Checklist 3 over HTTP, per (account, client network): 10 failures are answered, then the
    client must wait, even with the right password (test_auth_login_throttle has the rest)."""
    account = new_account(stack)
    url = f"{stack.base_url}/v1/auth/login"
    for _ in range(10):
        assert (
            other_ip.post(url, json={"email": account.email, "password": "Wrong-password-1"}).status_code
            == 401
        )
    response = other_ip.post(url, json={"email": account.email, "password": account.password})
    assert response.status_code == 429
    assert response.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(response.headers["Retry-After"]) <= 2  # the first wait (AUTH_LOGIN_DELAY_SECONDS)
    assert "Too many failed attempts" in response.json()["detail"]
    events = list(db.audit_events.find({"action": "session.login", "account_id": account.account_id}))
    assert sum(e["outcome"] == "failure" for e in events) == 10


def test_one_ip_trying_100_accounts_is_throttled(stack):
    """Checklist 4: one client IP spraying passwords over 100 accounts is cut off (429): 30
    failures, then one attempt per growing wait at most."""
    client = session_from(random_loopback_ip())
    statuses = []
    try:
        for _ in range(100):
            response = client.post(
                f"{stack.base_url}/v1/auth/login",
                json={"email": unique_email("spray"), "password": "Spring2024!"},
            )
            statuses.append(response.status_code)
    finally:
        client.close()
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429
    assert set(statuses[30:]) <= {401, 429}
    assert statuses.count(401) <= 33  # 2 s, 4 s, 8 s waits between the few that get through


def test_refresh_rotates_and_reuse_revokes_the_whole_family(stack, http, db):
    """Checklist 17 (second half)."""
    account = new_account(stack)
    first = account.refresh_token
    rotated = _refresh(stack, http, first)
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first
    assert _me(stack, http, second["access_token"]).status_code == 200

    reused = _refresh(stack, http, first)  # the spent token comes back: someone copied it
    assert reused.status_code == 401
    assert _refresh(stack, http, second["refresh_token"]).status_code == 401  # the family is dead
    assert _me(stack, http, second["access_token"]).status_code == 401
    assert _me(stack, http, account.access_token).status_code == 401
    event = db.audit_events.find_one(
        {"action": "session.refresh_token_reuse", "account_id": account.account_id}
    )
    assert event["outcome"] == "denied" and event["target"]["type"] == "session"


def test_refresh_token_is_not_an_access_token(stack, http):
    """Checklist 17 (first half)."""
    account = new_account(stack)
    response = _me(stack, http, account.refresh_token)
    assert response.status_code == 401


def test_access_token_is_not_a_refresh_token(stack, http):
    account = new_account(stack)
    assert _refresh(stack, http, account.access_token).status_code == 401


def test_after_logout_the_old_access_token_is_401(stack, http):
    """Checklist 18: logout ends the session at once, in every gateway worker."""
    account = new_account(stack)
    for _ in range(4):  # both gunicorn workers have seen the token alive
        assert _me(stack, http, account.access_token).status_code == 200
    assert (
        http.post(
            f"{stack.base_url}/v1/auth/logout", json={"refresh_token": account.refresh_token}
        ).status_code
        == 204
    )
    for _ in range(4):
        response = _me(stack, http, account.access_token)
        assert response.status_code == 401
        assert response.json()["detail"] == "the session has ended; log in again"
    assert _refresh(stack, http, account.refresh_token).status_code == 401


def test_logout_is_idempotent_and_reveals_nothing(stack, http):
    for token in ("not-a-token", uuid.uuid4().hex * 2):
        assert http.post(f"{stack.base_url}/v1/auth/logout", json={"refresh_token": token}).status_code == 204
    assert http.post(f"{stack.base_url}/v1/auth/logout", json={}).status_code == 400


def test_logout_ends_only_its_own_session(stack, http):
    account = new_account(stack)
    other = login(stack, account.email, account.password)
    assert (
        http.post(
            f"{stack.base_url}/v1/auth/logout", json={"refresh_token": other["refresh_token"]}
        ).status_code
        == 204
    )
    assert _me(stack, http, other["access_token"]).status_code == 401
    assert _me(stack, http, account.access_token).status_code == 200


def test_logout_all_ends_every_session(stack, http, db):
    account = new_account(stack)
    other = login(stack, account.email, account.password)
    response = http.post(f"{stack.base_url}/v1/auth/logout-all", headers=account.headers)
    assert response.status_code == 204
    for tokens in ({"access_token": account.access_token, "refresh_token": account.refresh_token}, other):
        assert _me(stack, http, tokens["access_token"]).status_code == 401
        assert _refresh(stack, http, tokens["refresh_token"]).status_code == 401
    assert db.audit_events.find_one({"action": "session.logout_all", "account_id": account.account_id})
    fresh = login(stack, account.email, account.password)  # signing in again works
    assert _me(stack, http, fresh["access_token"]).status_code == 200


def test_login_audit_events_carry_actor_ip_user_agent_and_request_id(stack, other_ip, db):
    account = new_account(stack)
    response = other_ip.post(
        f"{stack.base_url}/v1/auth/login",
        json={"email": account.email, "password": "Wrong-password-1"},
        headers={"User-Agent": "audit-test/1.0", "X-Request-ID": "audit-test-req-1"},
    )
    assert response.status_code == 401
    event = db.audit_events.find_one({"request_id": "audit-test-req-1"})
    assert event["action"] == "session.login" and event["outcome"] == "failure"
    assert event["account_id"] == account.account_id and event["actor"] == "anonymous"
    assert event["ip"].startswith("127.") and event["ip"] != "127.0.0.1"
    assert event["user_agent"] == "audit-test/1.0" and event["at"]
    success = db.audit_events.find_one(
        {
            "action": "session.login",
            "account_id": account.account_id,
            "outcome": "success",
            "target.type": "session",
        }
    )
    assert success["actor"] == f"account:{account.account_id}"
