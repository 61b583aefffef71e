"""Changing two-factor authentication needs the password again (ASVS 7.5.1): a stolen access token
alone can neither enrol an attacker's authenticator nor end the owner's other sessions. Each change
mails a notice to the account's address, and an unconfirmed address cannot turn 2FA on."""

from __future__ import annotations

import pytest
import requests
from support import outbox
from support.accounts import (
    auth_db,
    fresh_step,
    login,
    new_account,
    random_loopback_ip,
    session_from,
    strong_password,
    totp_code,
    unique_email,
)


@pytest.fixture(scope="module")
def db(mongo_uri):
    with auth_db(mongo_uri) as database:
        yield database


def _post(stack, http, path: str, headers: dict, body: dict | None = None) -> requests.Response:
    return http.post(f"{stack.base_url}{path}", json=body if body is not None else {}, headers=headers)


def _field_error(response: requests.Response) -> tuple[str, str]:
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    error = response.json()["errors"][0]
    return error["field"], error.get("code", "")


def _alive(stack, http, access_token: str) -> bool:
    me = http.get(f"{stack.base_url}/v1/me", headers={"Authorization": f"Bearer {access_token}"})
    return me.status_code == 200


def test_a_stolen_access_token_cannot_enrol_an_authenticator(stack, http, db):
    owner = new_account(stack)
    owners_other_session = login(stack, owner.email, owner.password)["access_token"]

    for body in ({}, {"password": "Not-the-password-1"}):
        assert _field_error(_post(stack, http, "/v1/me/2fa/setup", owner.headers, body))[0] == "password"
    stored = db.accounts.find_one({"_id": owner.account_id})
    assert not (stored.get("totp") or {}).get("pending")  # no seed was handed out

    # Even with a setup waiting (the owner started one), confirming needs the password.
    step = fresh_step()
    setup = _post(stack, http, "/v1/me/2fa/setup", owner.headers, {"password": owner.password})
    assert setup.status_code == 200, setup.text
    code = totp_code(setup.json()["secret"], step)
    for body in ({"code": code}, {"code": code, "password": "Not-the-password-1"}):
        assert _field_error(_post(stack, http, "/v1/me/2fa/confirm", owner.headers, body))[0] == "password"

    me = http.get(f"{stack.base_url}/v1/me", headers=owner.headers).json()["account"]
    assert me["totp_enabled"] is False
    assert _alive(stack, http, owners_other_session)  # nobody was signed out
    failures = db.audit_events.count_documents(
        {
            "account_id": owner.account_id,
            "action": {"$in": ["mfa.setup_started", "mfa.enabled"]},
            "outcome": "failure",
            "details.reason": "wrong_password",
        }
    )
    assert failures == 2  # the empty passwords never reached bcrypt; the wrong ones are audited


def test_confirm_with_the_password_and_code_turns_2fa_on_and_mails_a_notice(stack, http, db):
    owner = new_account(stack)
    other = login(stack, owner.email, owner.password)["access_token"]
    step = fresh_step()
    setup = _post(stack, http, "/v1/me/2fa/setup", owner.headers, {"password": owner.password}).json()
    confirm = _post(
        stack,
        http,
        "/v1/me/2fa/confirm",
        owner.headers,
        {"password": owner.password, "code": totp_code(setup["secret"], step - 1)},
    )
    assert confirm.status_code == 200, confirm.text
    assert len(confirm.json()["backup_codes"]) == 10
    assert not _alive(stack, http, other)  # the owner's own change ends the other sessions
    notice = outbox.latest(stack, owner.email, "two-factor authentication was turned on")
    assert "If this was not you" in notice.text
    assert setup["secret"] not in notice.text


def test_regenerating_codes_and_turning_2fa_off_mail_notices(stack, http):
    owner = new_account(stack)
    step = fresh_step()
    setup = _post(stack, http, "/v1/me/2fa/setup", owner.headers, {"password": owner.password}).json()
    secret = setup["secret"]
    body = {"password": owner.password, "code": totp_code(secret, step - 1)}
    assert _post(stack, http, "/v1/me/2fa/confirm", owner.headers, body).status_code == 200

    body = {"password": owner.password, "code": totp_code(secret, step)}
    regenerated = _post(stack, http, "/v1/me/2fa/backup-codes", owner.headers, body)
    assert regenerated.status_code == 200, regenerated.text
    notice = outbox.latest(stack, owner.email, "new aicosts backup codes")
    assert not any(code in notice.text for code in regenerated.json()["backup_codes"])

    body = {"password": owner.password, "code": totp_code(secret, step + 1)}
    assert _post(stack, http, "/v1/me/2fa/disable", owner.headers, body).status_code == 204
    outbox.latest(stack, owner.email, "two-factor authentication was turned off")


def test_an_unverified_account_cannot_turn_2fa_on(stack, db):
    client = session_from(random_loopback_ip())
    try:
        email, password = unique_email("unverified"), strong_password()
        signed_up = client.post(
            f"{stack.base_url}/v1/auth/signup", json={"email": email, "password": password, "name": "U"}
        )
        assert signed_up.status_code < 300, signed_up.text
        tokens = login(stack, email, password, http=client)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        refused = client.post(
            f"{stack.base_url}/v1/me/2fa/setup", json={"password": password}, headers=headers
        )
    finally:
        client.close()
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert problem["type"].endswith("/email-unverified")
    assert "Confirm your email address" in problem["detail"] and "email-verification" in problem["detail"]
    account = db.accounts.find_one({"email_key": email.lower()})
    assert "totp" not in account
    assert db.audit_events.find_one(
        {"account_id": account["_id"], "action": "mfa.setup_started", "outcome": "denied"}
    )
