"""Password change and reset through the gateway (docs/security.md)."""

from __future__ import annotations

import hashlib
import time

import pytest
from support import outbox
from support.accounts import auth_db, enable_2fa, login, new_account, strong_password, unique_email


@pytest.fixture(scope="module")
def db(mongo_uri):
    with auth_db(mongo_uri) as database:
        yield database


def _request_reset(stack, http, email: str):
    return http.post(f"{stack.base_url}/v1/auth/password-reset", json={"email": email})


def _confirm(stack, http, token: str, new_password: str, code: str | None = None):
    body = {"token": token, "new_password": new_password}
    if code is not None:
        body["code"] = code
    return http.post(f"{stack.base_url}/v1/auth/password-reset/confirm", json=body)


def _me(stack, http, access_token: str) -> int:
    return http.get(
        f"{stack.base_url}/v1/me", headers={"Authorization": f"Bearer {access_token}"}
    ).status_code


def _reset_token(stack, http, email: str, count: int = 1) -> str:
    assert _request_reset(stack, http, email).status_code == 202
    return outbox.latest(stack, email, "reset your", count=count).token()


def test_reset_request_answers_the_same_for_known_and_unknown_emails(stack, http, db):
    """Checklist 6 (status and body; the timing mechanism is in test_auth_mechanisms and
    bench/auth_enumeration.py)."""
    account = new_account(stack)
    nobody = unique_email("nobody")
    known, unknown = _request_reset(stack, http, account.email), _request_reset(stack, http, nobody)
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    outbox.wait_for(stack, account.email, "reset your")
    # The unknown address's background job has finished (it audits) and sent nothing.
    deadline = time.monotonic() + 10
    query = {"action": "password.reset_requested", "request_id": unknown.headers["X-Request-ID"]}
    while db.audit_events.find_one(query) is None:
        assert time.monotonic() < deadline, "the reset job for the unknown email never ran"
        time.sleep(0.05)
    assert db.audit_events.find_one(query)["details"]["reason"] == "unknown_email"
    assert outbox.messages(stack, nobody) == []


def test_reset_request_with_a_malformed_email_is_400(stack, http):
    response = _request_reset(stack, http, "not-an-email")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "email"


def test_reset_token_is_256_bits_stored_hashed_expires_within_an_hour_and_works_once(stack, http, db):
    """Checklist 7."""
    account = new_account(stack)
    token = _reset_token(stack, http, account.email)
    assert len(token) >= 43  # 32 random bytes, base64url
    stored = db.one_time_tokens.find_one({"account_id": account.account_id, "kind": "password_reset"})
    assert stored["_id"] == hashlib.sha256(token.encode()).hexdigest() and token not in str(stored)
    assert 0 < (stored["expires_at"] - stored["created_at"]).total_seconds() <= 3600
    new_password = strong_password()
    assert _confirm(stack, http, token, new_password).status_code == 204
    second = _confirm(stack, http, token, strong_password())
    assert second.status_code == 400 and second.json()["errors"][0]["field"] == "token"
    assert set(login(stack, account.email, new_password)) >= {"access_token"}
    assert db.audit_events.find_one({"action": "password.reset", "account_id": account.account_id})
    assert outbox.latest(stack, account.email, "password was changed")


def test_reset_refuses_a_weak_password_without_spending_the_token(stack, http):
    account = new_account(stack)
    token = _reset_token(stack, http, account.email)
    weak = _confirm(stack, http, token, "password1")
    assert weak.status_code == 400 and weak.json()["errors"][0]["field"] == "new_password"
    assert _confirm(stack, http, token, strong_password()).status_code == 204


def test_reset_or_change_kills_every_earlier_access_and_refresh_token(stack, http):
    """Checklist 9 (reset): every session ends, including refresh tokens."""
    account = new_account(stack)
    other = login(stack, account.email, account.password)
    token = _reset_token(stack, http, account.email)
    assert _confirm(stack, http, token, strong_password()).status_code == 204
    for access, refresh in (
        (account.access_token, account.refresh_token),
        (other["access_token"], other["refresh_token"]),
    ):
        assert _me(stack, http, access) == 401
        assert (
            http.post(f"{stack.base_url}/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401
        )


def test_password_change_keeps_this_session_and_ends_the_others(stack, http, db):
    """Checklist 9 (change)."""
    account = new_account(stack)
    other = login(stack, account.email, account.password)
    url = f"{stack.base_url}/v1/me/password"
    wrong = http.post(
        url,
        json={"current_password": "Wrong-password-1", "new_password": strong_password()},
        headers=account.headers,
    )
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "current_password"
    weak = http.post(
        url, json={"current_password": account.password, "new_password": "12345678"}, headers=account.headers
    )
    assert weak.status_code == 400 and weak.json()["errors"][0]["field"] == "new_password"
    new_password = strong_password()
    changed = http.post(
        url,
        json={"current_password": account.password, "new_password": new_password},
        headers=account.headers,
    )
    assert changed.status_code == 204
    assert _me(stack, http, other["access_token"]) == 401
    assert (
        http.post(
            f"{stack.base_url}/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
        ).status_code
        == 401
    )
    assert _me(stack, http, account.access_token) == 200
    assert (
        http.post(
            f"{stack.base_url}/v1/auth/login", json={"email": account.email, "password": account.password}
        ).status_code
        == 401
    )
    assert set(login(stack, account.email, new_password)) >= {"access_token"}
    assert db.audit_events.find_one(
        {"action": "password.changed", "account_id": account.account_id, "outcome": "success"}
    )


def test_reset_with_2fa_on_still_needs_a_code(stack, http, db):
    """Checklist 8: a reset never bypasses 2FA."""
    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    token = _reset_token(stack, http, account.email)
    new_password = strong_password()
    missing = _confirm(stack, http, token, new_password)
    assert missing.status_code == 400
    assert missing.json()["errors"] == [
        {"field": "code", "message": missing.json()["detail"], "code": "code_required"}
    ]
    wrong = _confirm(stack, http, token, new_password, "000000" if two.code(0) != "000000" else "111111")
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "code_invalid"
    assert _confirm(stack, http, token, new_password, two.code(0)).status_code == 204
    # No session was issued by the reset, and signing in still asks for a code.
    after = login(stack, account.email, new_password)
    assert after["mfa_required"] is True
    assert db.accounts.find_one({"_id": account.account_id})["totp"]["enabled"] is True
