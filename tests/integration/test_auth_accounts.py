"""Signup, email verification and the profile, through the gateway (the account
endpoints of /openapi.json; docs/security.md)."""

from __future__ import annotations

import hashlib

import pytest
from support import outbox
from support.accounts import auth_db, login, new_account, signup, strong_password, unique_email, verify

ACCOUNT_KEYS = {"id", "email", "name", "role", "email_verified", "plan", "totp_enabled", "created_at"}


@pytest.fixture(scope="module")
def db(mongo_uri):
    with auth_db(mongo_uri) as database:
        yield database


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["X-Request-ID"]
    return body


def _fields(body: dict) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body.get("errors", [])}


def test_signup_is_accepted_and_verifying_shows_exactly_the_account_fields(stack, http):
    email = unique_email()
    response = http.post(
        f"{stack.base_url}/v1/auth/signup",
        json={"email": email, "password": strong_password(), "name": "Ada"},
    )
    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "detail": "Check your inbox: we sent an email to this address with what to do next.",
    }  # no account id: the same answer as for an address that already has an account
    account = verify(stack, email)
    assert set(account) == ACCOUNT_KEYS
    assert account["email"] == email and account["name"] == "Ada"
    assert (account["role"], account["plan"]) == ("owner", "free")
    assert account["email_verified"] is True and account["totp_enabled"] is False
    assert account["created_at"].endswith("Z")


def test_registered_password_hash_is_bcrypt_2b_with_cost_12(stack, db):
    """Checklist 1: the session stack runs the default configuration (AUTH_BCRYPT_COST unset)."""
    password, email = strong_password(), unique_email()
    signup(stack, email, password)
    stored = db.accounts.find_one({"email_key": email})
    assert stored["password_hash"].startswith("$2b$")
    assert int(stored["password_hash"].split("$")[2]) >= 12
    assert password not in str(stored)


def test_verification_email_link_works_once(stack, http, db):
    email = unique_email()
    signup(stack, email, strong_password())
    account = {"id": db.accounts.find_one({"email_key": email})["_id"]}
    mail = outbox.latest(stack, email, "confirm your email")
    (link,) = mail.links()
    assert link.startswith(f"{stack.base_url}/verify-email?token=")  # make run points links at its gateway
    token = mail.token()
    assert len(token) >= 43  # 256 bits, base64url
    stored = db.one_time_tokens.find_one({"account_id": account["id"], "kind": "verify_email"})
    assert stored["_id"] == hashlib.sha256(token.encode()).hexdigest()  # only the hash is kept
    assert token not in str(stored)

    verified = http.post(f"{stack.base_url}/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200
    assert verified.json()["account"]["email_verified"] is True
    again = _problem(http.post(f"{stack.base_url}/v1/auth/verify-email", json={"token": token}), 400)
    assert "already used" in again["detail"] and _fields(again).keys() == {"token"}


def test_made_up_verification_token_is_refused(stack, http):
    body = _problem(http.post(f"{stack.base_url}/v1/auth/verify-email", json={"token": "x" * 43}), 400)
    assert _fields(body).keys() == {"token"}


def test_email_is_unique_whatever_its_case(stack, http, db):
    """A second signup is answered like a first one (no enumeration); no second account is made
    and the first one's owner is told by email."""
    email = unique_email()
    signup(stack, email, strong_password())
    payload = {
        "email": email.upper().replace("@EXAMPLE.COM", "@example.com"),
        "password": strong_password(),
        "name": "B",
    }
    assert http.post(f"{stack.base_url}/v1/auth/signup", json=payload).status_code == 202
    assert db.accounts.count_documents({"email_key": email}) == 1
    outbox.latest(stack, email, "tried to sign up")


@pytest.mark.parametrize("length", [8, 64, 72])
def test_passwords_from_8_to_72_ascii_characters_are_accepted(stack, length):
    password = ("Zq7-" * 20)[:length]
    assert signup(stack, unique_email(), password)["status"] == "accepted"


def test_password_over_72_utf8_bytes_gets_a_clear_400(stack, http, db):
    """Checklist 2: 40 'é' are 40 characters but 80 bytes: refused with a message, never a 500
    and never silently truncated."""
    email = unique_email()
    response = http.post(
        f"{stack.base_url}/v1/auth/signup", json={"email": email, "password": "é" * 40, "name": "A"}
    )
    body = _problem(response, 400)
    message = _fields(body)["password"]
    assert "at most 72 bytes" in message and "80 bytes" in message
    assert body["errors"][0]["code"] == "password_too_long"
    assert db.accounts.find_one({"email_key": email.lower()}) is None


def test_long_password_at_login_is_a_plain_401(stack, http):
    account = new_account(stack)
    response = http.post(
        f"{stack.base_url}/v1/auth/login", json={"email": account.email, "password": "é" * 40}
    )
    assert _problem(response, 401)["detail"] == "The email or password is incorrect."


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1!", "password_too_short"),
        ("password123", "password_too_common"),
        ("Qwerty123", "password_too_common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(stack, http, password, code):
    payload = {"email": unique_email(), "password": password, "name": "A"}
    body = _problem(http.post(f"{stack.base_url}/v1/auth/signup", json=payload), 400)
    assert body["errors"] == [{"field": "password", "message": body["detail"], "code": code}]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"email", "password", "name"}),
        ({"email": "not-an-email", "password": "Pw-long-enough-1", "name": "A"}, {"email"}),
        ({"email": 42, "password": ["x"], "name": None}, {"email", "password", "name"}),
        ({"email": "a@example.com", "password": "Pw-long-enough-1", "name": ""}, {"name"}),
    ],
)
def test_bad_signup_input_is_a_validation_problem(stack, http, payload, fields):
    body = _problem(http.post(f"{stack.base_url}/v1/auth/signup", json=payload), 400)
    assert _fields(body).keys() == fields


def test_blank_or_control_character_names_are_refused(stack, http):
    for name in ("   ", "Ada\nLovelace"):
        payload = {"email": unique_email(), "password": strong_password(), "name": name}
        assert _fields(_problem(http.post(f"{stack.base_url}/v1/auth/signup", json=payload), 400)).keys() == {
            "name"
        }


def test_non_json_body_is_415(stack, http):
    response = http.post(
        f"{stack.base_url}/v1/auth/signup", data="email=a", headers={"Content-Type": "text/plain"}
    )
    _problem(response, 415)
    response = http.post(
        f"{stack.base_url}/v1/auth/login", data="[1, 2]", headers={"Content-Type": "application/json"}
    )
    _problem(response, 400)


def test_me_returns_and_updates_the_account(stack, http):
    account = new_account(stack, name="Grace")
    me = http.get(f"{stack.base_url}/v1/me", headers=account.headers)
    assert me.status_code == 200
    body = me.json()["account"]
    assert set(body) == ACCOUNT_KEYS
    assert (body["id"], body["email"], body["name"], body["email_verified"]) == (
        account.account_id,
        account.email,
        "Grace",
        True,
    )
    patched = http.patch(f"{stack.base_url}/v1/me", json={"name": "  Grace Hopper "}, headers=account.headers)
    assert patched.status_code == 200 and patched.json()["account"]["name"] == "Grace Hopper"
    assert _fields(
        _problem(http.patch(f"{stack.base_url}/v1/me", json={"name": 7}, headers=account.headers), 400)
    ) == {"name": "Input should be a valid string"}


def test_me_without_a_token_is_401(stack, http):
    response = http.get(f"{stack.base_url}/v1/me")
    _problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_verification_can_be_sent_again_until_verified(stack, http):
    account = new_account(stack)
    body = _problem(http.post(f"{stack.base_url}/v1/me/email-verification", headers=account.headers), 422)
    assert "already verified" in body["detail"]


def test_openapi_documents_the_account_routes(stack, http):
    doc = http.get(f"{stack.base_url}/openapi.json").json()
    for path in ("/v1/auth/signup", "/v1/auth/login", "/v1/auth/login/mfa", "/v1/me", "/v1/me/2fa/setup"):
        assert path in doc["paths"]
    assert set(doc["components"]["schemas"]["Account"]["required"]) == ACCOUNT_KEYS


def test_unverified_account_can_sign_in_and_ask_for_the_link_again(stack, http):
    email, password = unique_email(), strong_password()
    signup(stack, email, password)
    tokens = login(stack, email, password)  # signing in does not wait for verification
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get(f"{stack.base_url}/v1/me", headers=headers).json()["account"]["email_verified"] is False
    url = f"{stack.base_url}/v1/me/email-verification"
    for _ in range(5):
        assert http.post(url, headers=headers).status_code == 202
    limited = http.post(url, headers=headers)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    mails = outbox.wait_for(stack, email, "confirm your email", count=6)
    assert len({m.token() for m in mails}) == 6
    verified = http.post(f"{stack.base_url}/v1/auth/verify-email", json={"token": mails[-1].token()})
    assert verified.status_code == 200 and verified.json()["account"]["email_verified"] is True
